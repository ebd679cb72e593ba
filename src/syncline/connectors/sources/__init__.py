"""Warehouse and database sources, each read as a stream of Arrow record batches."""
