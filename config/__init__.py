"""Settings and data files (products, NLU data, holidays). Imports nothing of ours."""
