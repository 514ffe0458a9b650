"""Privacy: separate consent for sensitive data (D-04) and the retention job (D-05)."""
