"""Security: encryption of secrets at rest and their redaction for display."""
