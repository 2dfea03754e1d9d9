"""Analyses: one module per notebook, assembling the estimators into the notebook's tables,
figures and computed sentences."""
