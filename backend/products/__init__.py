"""Insurance products as validated data files in ``config/products/``."""
