"""Catalog migration scripts, one per schema revision."""
