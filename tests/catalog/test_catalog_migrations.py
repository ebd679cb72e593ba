"""Opening a catalog migrates an empty database to head, matching the ORM tables exactly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from catalog_fixtures import make_pipeline
from sqlalchemy import create_engine, inspect, text

from syncline.catalog import Catalog
from syncline.catalog.engine import catalog_url
from syncline.catalog.migrate import current_revision, head_revision
from syncline.catalog.tables import Base
from syncline.errors import ConfigError
from syncline.security.secrets import SecretBox


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    make_postgres_database: Callable[[], str],
) -> str:
    """The URL of a database with no tables at all."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh' / 'syncline.db'}"
    return make_postgres_database()


def test_open_migrates_an_empty_database_to_head(empty_url: str, secret_box: SecretBox) -> None:
    catalog = Catalog.from_url(empty_url, secrets=secret_box)
    try:
        assert current_revision(catalog.engine) == head_revision()

        with catalog.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []

            tables = set(inspect(connection).get_table_names())
            assert tables >= {"workspaces", "sources", "models", "syncs", "sync_runs"}

            workspaces = connection.execute(text("SELECT slug FROM workspaces")).scalars().all()
            assert workspaces == ["default"]
    finally:
        catalog.close()


def test_opening_twice_keeps_data_and_one_default_workspace(
    empty_url: str, secret_box: SecretBox
) -> None:
    first = Catalog.from_url(empty_url, secrets=secret_box)
    with first.session() as session:
        session.workspaces.create("team-b")
    first.close()

    second = Catalog.from_url(empty_url, secrets=secret_box)
    try:
        with second.session() as session:
            assert [w.slug for w in session.workspaces.list()] == ["default", "team-b"]
    finally:
        second.close()


def test_each_catalog_has_its_own_installation_id_that_stays(
    empty_url: str, tmp_path: Path, secret_box: SecretBox
) -> None:
    first = Catalog.from_url(empty_url, secrets=secret_box)
    with first.session(read_only=True) as session:
        installation = session.installation_id
    first.close()

    reopened = Catalog.from_url(empty_url, secrets=secret_box)
    other = Catalog.from_url(f"sqlite:///{tmp_path / 'other' / 'syncline.db'}", secrets=secret_box)
    try:
        with reopened.session(read_only=True) as session:
            assert session.installation_id == installation
        with other.session(read_only=True) as session:
            assert session.installation_id != installation
    finally:
        reopened.close()
        other.close()


def test_partial_unique_indexes_exist_on_runs(empty_url: str, secret_box: SecretBox) -> None:
    catalog = Catalog.from_url(empty_url, secrets=secret_box)
    try:
        with catalog.engine.connect() as connection:
            indexes = {i["name"]: i for i in inspect(connection).get_indexes("sync_runs")}
        assert indexes["uq_sync_runs_one_queued"]["unique"]
        assert indexes["uq_sync_runs_one_running"]["unique"]
    finally:
        catalog.close()


def test_sqlite_catalog_uses_wal_and_foreign_keys(tmp_path: Path, secret_box: SecretBox) -> None:
    catalog = Catalog.from_url(f"sqlite:///{tmp_path / 'c.db'}", secrets=secret_box)
    try:
        with catalog.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        catalog.close()


def test_postgresql_urls_use_psycopg_3() -> None:
    assert catalog_url("postgresql://u@127.0.0.1/db").drivername == "postgresql+psycopg"
    assert catalog_url("postgres://u@127.0.0.1/db").drivername == "postgresql+psycopg"


def test_unsupported_catalog_database_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not supported"):
        catalog_url("mysql://root@127.0.0.1/test")


def test_a_catalog_from_a_newer_version_is_refused(tmp_path: Path, secret_box: SecretBox) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('9999')")
    engine.dispose()

    with pytest.raises(ConfigError, match="'9999'.*Upgrade Syncline"):
        Catalog.from_url(f"sqlite:///{tmp_path / 'old.db'}", secrets=secret_box)


def test_a_catalog_at_0005_gains_the_nullable_succeeded_rows_limit_and_keeps_its_data(
    tmp_path: Path, secret_box: SecretBox
) -> None:
    from alembic import command

    from syncline.catalog.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'at-0005.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0005")
        connection.exec_driver_sql(
            "INSERT INTO workspaces (id, slug, name, created_at) "
            "VALUES (9, 'old', 'old', '2026-12-01 00:00:00')"
        )
    engine.dispose()

    catalog = Catalog.from_url(url, secrets=secret_box)
    try:
        assert current_revision(catalog.engine) == head_revision()
        with catalog.engine.connect() as connection:
            columns = {c["name"]: c for c in inspect(connection).get_columns("sync_runs")}
            assert columns["succeeded_rows_limit"]["nullable"] is True
            slugs = connection.execute(text("SELECT slug FROM workspaces")).scalars().all()
            assert "old" in slugs
    finally:
        catalog.close()


def test_revision_0007_drops_delete_behaviours_no_mode_followed(
    tmp_path: Path, secret_box: SecretBox
) -> None:
    url = f"sqlite:///{tmp_path / 'old' / 'syncline.db'}"
    catalog = Catalog.from_url(url, secrets=secret_box)
    stored = {
        "mirror-nothing": ({"mode": "mirror", "deleteBehavior": "nothing"}, None),
        "mirror-delete": ({"mode": "mirror", "deleteBehavior": "delete"}, "delete"),
        "insert-clear": ({"mode": "insert", "deleteBehavior": "clear"}, None),
        "append-delete": ({"mode": "append", "deleteBehavior": "delete"}, None),
        "upsert-nothing": ({"mode": "upsert", "deleteBehavior": "nothing"}, None),
        "upsert-clear": ({"mode": "upsert", "deleteBehavior": "clear"}, "clear"),
    }
    try:
        for slug, (configuration, _) in stored.items():
            pipeline = make_pipeline(catalog, slug)
            with catalog.session() as session:
                session.syncs.get(pipeline.sync.id).configuration = {
                    **configuration, "object": "orders",
                }  # fmt: skip
        with catalog.engine.begin() as connection:
            # A catalog at 0006 lacks what later revisions add.
            connection.exec_driver_sql("ALTER TABLE sync_runs DROP COLUMN left_in_destination")
            connection.exec_driver_sql("DROP TABLE sign_in_throttles")
            connection.exec_driver_sql("ALTER TABLE sync_runs DROP COLUMN rejected_given_up")
            connection.execute(text("UPDATE alembic_version SET version_num = '0006'"))
    finally:
        catalog.close()

    migrated = Catalog.from_url(url, secrets=secret_box)
    try:
        with migrated.session() as session:
            kept = {
                slug: session.syncs.get(f"{slug}-sync").configuration.get("deleteBehavior")
                for slug in stored
            }
    finally:
        migrated.close()

    assert kept == {slug: expected for slug, (_, expected) in stored.items()}


def test_a_catalog_at_0007_gains_left_in_destination_with_runs_from_before_at_zero(
    tmp_path: Path, secret_box: SecretBox
) -> None:
    url = f"sqlite:///{tmp_path / 'old' / 'syncline.db'}"
    catalog = Catalog.from_url(url, secrets=secret_box)
    try:
        pipeline = make_pipeline(catalog, "old")
        with catalog.session() as session:
            run_id = session.runs.enqueue(pipeline.sync.id).id
        with catalog.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE sync_runs DROP COLUMN left_in_destination")
            connection.exec_driver_sql("DROP TABLE sign_in_throttles")
            connection.exec_driver_sql("ALTER TABLE sync_runs DROP COLUMN rejected_given_up")
            connection.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    finally:
        catalog.close()

    migrated = Catalog.from_url(url, secrets=secret_box)
    try:
        assert current_revision(migrated.engine) == head_revision()
        with migrated.session(read_only=True) as session:
            assert session.runs.get(run_id).left_in_destination == 0
    finally:
        migrated.close()


def test_a_catalog_at_0008_gains_the_sign_in_throttles_table(
    tmp_path: Path, secret_box: SecretBox
) -> None:
    url = f"sqlite:///{tmp_path / 'old' / 'syncline.db'}"
    catalog = Catalog.from_url(url, secrets=secret_box)
    with catalog.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE sign_in_throttles")
        connection.exec_driver_sql("ALTER TABLE sync_runs DROP COLUMN rejected_given_up")
        connection.execute(text("UPDATE alembic_version SET version_num = '0008'"))
    catalog.close()

    migrated = Catalog.from_url(url, secrets=secret_box)
    try:
        assert current_revision(migrated.engine) == head_revision() == "0010"
        with migrated.engine.connect() as connection:
            found = connection.exec_driver_sql("SELECT count(*) FROM sign_in_throttles")
            assert found.scalar() == 0
    finally:
        migrated.close()


def test_a_catalog_at_0009_gains_rejected_given_up_with_runs_from_before_at_zero(
    tmp_path: Path, secret_box: SecretBox
) -> None:
    url = f"sqlite:///{tmp_path / 'old' / 'syncline.db'}"
    catalog = Catalog.from_url(url, secrets=secret_box)
    with catalog.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE sync_runs DROP COLUMN rejected_given_up")
        connection.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    catalog.close()

    migrated = Catalog.from_url(url, secrets=secret_box)
    try:
        assert current_revision(migrated.engine) == head_revision() == "0010"
        with migrated.engine.connect() as connection:
            columns = {c["name"]: c for c in inspect(connection).get_columns("sync_runs")}
            assert columns["rejected_given_up"]["nullable"] is False
    finally:
        migrated.close()


def test_upgrading_an_existing_catalog_is_a_warning_naming_both_revisions(
    tmp_path: Path, secret_box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    """Older versions refuse an upgraded catalog, so the upgrade must not pass unseen."""
    from alembic import command

    from syncline.catalog.migrate import alembic_config

    url = f"sqlite:///{tmp_path / 'at-0005.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0005")
    engine.dispose()

    with caplog.at_level("INFO", logger="syncline.catalog.migrate"):
        Catalog.from_url(url, secrets=secret_box).close()

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "0005" in warnings[0]
    assert head_revision() in warnings[0]
    assert "older" in warnings[0]


def test_creating_a_new_catalog_warns_of_nothing(
    tmp_path: Path, secret_box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    with caplog.at_level("INFO", logger="syncline.catalog.migrate"):
        Catalog.from_url(url, secrets=secret_box).close()

    assert [r for r in caplog.records if r.levelno >= 30] == []
