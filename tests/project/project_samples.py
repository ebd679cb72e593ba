"""Sample project files shared by the project tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

WriteFiles = Callable[..., Path]
"""Writes YAML files (name → text) into a project folder and returns the folder."""

VALID_SOURCES = """
sources:
  - slug: wh
    name: Warehouse
    type: duckdb
    configuration: {path: /tmp/nowhere.duckdb}
"""

VALID_REST = """
models:
  - slug: users
    source: wh
    primaryKey: id
    raw: {sql: "SELECT 1 AS id"}
destinations:
  - slug: crm
    type: pretend
    configuration: {host: localhost, password: "${CRM_PASSWORD}"}
syncs:
  - slug: users-to-crm
    model: users
    destination: crm
    configuration:
      mode: upsert
      object: people
      mappings: [{from: id, to: id}]
"""
