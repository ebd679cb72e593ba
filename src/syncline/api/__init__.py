"""The REST API v1: Hightouch-compatible resources under ``/api/v1`` (see ``shared/API.md``)."""

from __future__ import annotations

from syncline.api.app import create_app

__all__ = ["create_app"]
