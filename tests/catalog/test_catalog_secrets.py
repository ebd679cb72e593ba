"""Connector configurations in the catalog: secrets encrypted in the raw table, never shown."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from catalog_fixtures import Pipeline
from cryptography.fernet import Fernet
from sqlalchemy import text

from syncline.catalog import Catalog
from syncline.errors import ConfigError
from syncline.security.secrets import KEY_FILE_NAME, SecretBox
from syncline.settings import Settings


def _raw_configuration(catalog: Catalog, table: str, ident: int) -> str:
    with catalog.engine.connect() as connection:
        # Read the column as text, exactly as the database holds it.
        value = connection.execute(
            text(f"SELECT CAST(configuration AS TEXT) FROM {table} WHERE id = :id"), {"id": ident}
        ).scalar_one()
    return str(value)


def test_secrets_are_encrypted_in_the_raw_table(catalog: Catalog, pipeline: Pipeline) -> None:
    source_raw = _raw_configuration(catalog, "sources", pipeline.source.id)
    destination_raw = _raw_configuration(catalog, "destinations", pipeline.destination.id)

    assert "hunter2" not in source_raw
    assert "s3cret-token" not in destination_raw
    assert "$secret" in source_raw
    assert "127.0.0.1" in source_raw, "only secret fields are encrypted"

    with catalog.session() as session:
        source = session.sources.get(pipeline.source.id)
        assert session.sources.plain_configuration(source) == {
            "host": "127.0.0.1",
            "password": "hunter2",
        }
        assert session.sources.redacted_configuration(source) == {"host": "127.0.0.1"}


def test_a_configuration_edit_without_the_secret_keeps_it(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    with catalog.session() as session:
        session.sources.update(pipeline.source.id, configuration={"host": "db.internal"})
    with catalog.session() as session:
        source = session.sources.get(pipeline.source.id)
        assert session.sources.plain_configuration(source) == {
            "host": "db.internal",
            "password": "hunter2",
        }

    with catalog.session() as session:
        session.sources.update(
            pipeline.source.id, configuration={"host": "db.internal", "password": "new-pass"}
        )
    assert "new-pass" not in _raw_configuration(catalog, "sources", pipeline.source.id)
    with catalog.session() as session:
        source = session.sources.get(pipeline.source.id)
        assert session.sources.plain_configuration(source)["password"] == "new-pass"


def test_a_catalog_opened_with_another_key_names_the_fix(
    catalog: Catalog, pipeline: Pipeline
) -> None:
    url = catalog.engine.url.render_as_string(hide_password=False)
    other = Catalog.from_url(url, secrets=SecretBox(Fernet.generate_key()))
    try:
        with other.session() as session:
            source = session.sources.get(pipeline.source.id)
            assert session.sources.redacted_configuration(source) == {"host": "127.0.0.1"}
            with pytest.raises(ConfigError, match="key changed.*SYNCLINE_SECRET_KEY") as caught:
                session.sources.plain_configuration(source)
        assert caught.value.code == "SECRET_KEY_CHANGED"
    finally:
        other.close()


def test_opening_from_settings_makes_the_key_file(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    catalog = Catalog.open(settings)
    try:
        key_file = settings.home / KEY_FILE_NAME
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert (settings.home / "syncline.db").exists()
    finally:
        catalog.close()


def test_webhook_headers_are_stored_sealed_and_build_the_destination(catalog: Catalog) -> None:
    from syncline.connectors import registry

    headers = {"Authorization": "Bearer abc123", "X-Team": "ops"}
    with catalog.session() as session:
        record = session.destinations.create(
            name="Hook",
            slug="hook",
            type="webhook",
            configuration={"url": "http://127.0.0.1:9/hook", "headers": headers},
        )
        ident = record.id

    assert "abc123" not in _raw_configuration(catalog, "destinations", ident)
    with catalog.session(read_only=True) as session:
        plain = session.destinations.plain_configuration(session.destinations.get(ident))
    assert plain["headers"] == headers
    destination = registry.destination_class("webhook").from_config(plain)
    assert destination.settings.headers["X-Team"].get_secret_value() == "ops"
