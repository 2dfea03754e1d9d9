"""Reproducible re-evaluation of the Three Conversations model (Birmingham, Harrow)."""

__version__ = "0.1.0"
