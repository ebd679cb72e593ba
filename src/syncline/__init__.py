"""Syncline: self-hostable reverse ETL that syncs warehouse models into operational tools."""

__version__ = "0.1.0"
