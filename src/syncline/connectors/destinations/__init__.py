"""Destinations: database tables, files and HTTP APIs that receive a sync's changes."""
