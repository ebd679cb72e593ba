"""Fixtures for alert tests: local recipients, a scriptable destination and a tiny project."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from alert_bench import ProbeDestination, Workbench
from alert_receivers import HttpReceiver, SmtpInbox
from cryptography.fernet import Fernet

from syncline.catalog import Catalog
from syncline.connectors import registry
from syncline.security.secrets import SecretBox
from syncline.settings import Settings


@pytest.fixture(autouse=True)
def probe(monkeypatch: pytest.MonkeyPatch) -> type[ProbeDestination]:
    """Register ``alert-probe`` as a destination type, accepting everything and fast."""
    builtin = registry.destination_class
    monkeypatch.setattr(
        registry,
        "destination_class",
        lambda name: ProbeDestination if name == "alert-probe" else builtin(name),
    )
    monkeypatch.setattr(ProbeDestination, "reject", set())
    monkeypatch.setattr(ProbeDestination, "delay", 0.0)
    return ProbeDestination


@pytest.fixture
def http() -> Iterator[HttpReceiver]:
    """An HTTP receiver on 127.0.0.1 answering 200."""
    receiver = HttpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    """An SMTP server on 127.0.0.1 that takes every message."""
    server = SmtpInbox().start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_catalog(tmp_path: Path) -> Iterator[Catalog]:
    """A catalog in a SQLite file of its own."""
    opened = Catalog.from_url(
        f"sqlite:///{tmp_path / 'catalog.db'}", secrets=SecretBox(Fernet.generate_key())
    )
    yield opened
    opened.close()


@pytest.fixture
def bench(tmp_path: Path, sqlite_catalog: Catalog) -> Workbench:
    """A workbench on a SQLite catalog, with 10 rows in its model."""
    return Workbench(tmp_path, sqlite_catalog, Settings(home=tmp_path / "home"))


@pytest.fixture
def catalog_bench(tmp_path: Path, catalog: Catalog) -> Workbench:
    """A workbench on the shared catalog fixture: SQLite, and PostgreSQL when marked."""
    return Workbench(tmp_path, catalog, Settings(home=tmp_path / "home"))


@pytest.fixture(autouse=True)
def alert_logs_captured(caplog: pytest.LogCaptureFixture) -> None:
    """Alert delivery's warnings reach ``caplog`` whatever level another test in the same
    process left Syncline's loggers at (the command line sets them on start)."""
    caplog.set_level(logging.INFO, logger="syncline.alerts")
