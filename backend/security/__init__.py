"""Private-data protection: field encryption, blind indexes, masking."""
