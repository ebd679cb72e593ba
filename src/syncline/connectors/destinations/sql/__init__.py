"""Helpers shared by the table destinations: names, types, statements, bisecting a batch."""
