"""Figures: one module per analysis family; every function takes tables or result objects and
returns a matplotlib Figure."""
