"""Opening a catalog that is already at head skips Alembic, and the skip is never stale."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from syncline.catalog import Catalog
from syncline.catalog.migrate import HEAD_REVISION, current_revision, head_revision
from syncline.security.secrets import SecretBox


def test_head_revision_constant_names_the_newest_migration() -> None:
    assert HEAD_REVISION == head_revision()


def test_a_never_migrated_database_has_no_revision(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert current_revision(engine) is None
    finally:
        engine.dispose()


def test_opening_a_catalog_at_head_does_not_import_alembic(
    tmp_path: Path, secret_box: SecretBox
) -> None:
    url = f"sqlite:///{tmp_path / 'syncline.db'}"
    Catalog.from_url(url, secrets=secret_box).close()

    script = textwrap.dedent(
        f"""
        import sys
        from cryptography.fernet import Fernet
        from syncline.catalog import Catalog
        from syncline.security.secrets import SecretBox
        Catalog.from_url({url!r}, secrets=SecretBox(Fernet.generate_key())).close()
        print(sorted(name for name in sys.modules if name.split('.')[0] == 'alembic'))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_opening_a_sqlite_catalog_loads_no_postgresql_dialect(
    tmp_path: Path, secret_box: SecretBox
) -> None:
    # SQLAlchemy's PostgreSQL dialect (and its asyncpg, pg8000 and psycopg modules) costs
    # a run on the default SQLite catalog about 30 ms of start-up for nothing.
    url = f"sqlite:///{tmp_path / 'syncline.db'}"
    Catalog.from_url(url, secrets=secret_box).close()

    script = textwrap.dedent(
        f"""
        import sys
        from cryptography.fernet import Fernet
        from syncline.catalog import Catalog
        from syncline.security.secrets import SecretBox
        catalog = Catalog.from_url({url!r}, secrets=SecretBox(Fernet.generate_key()))
        with catalog.session() as session:
            session.workspaces.create("team-b")
        catalog.close()
        print(sorted(name for name in sys.modules if 'dialects.postgresql' in name))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"


def test_a_postgresql_catalog_engine_makes_the_partial_unique_indexes_partial() -> None:
    # The PostgreSQL condition of each partial index is declared when a PostgreSQL
    # catalog engine is made; without it a sync could hold one run, ever. A fresh
    # interpreter, as this one may have declared them already for another test.
    script = textwrap.dedent(
        """
        import json
        from sqlalchemy.schema import CreateIndex
        from syncline.catalog.engine import make_engine
        from syncline.catalog.tables import RunRecord, SequenceRunRecord

        engine = make_engine("postgresql://postgres@127.0.0.1:5432/never_connected")
        ddl = {
            index.name: str(CreateIndex(index).compile(dialect=engine.dialect))
            for table in (RunRecord.__table__, SequenceRunRecord.__table__)
            for index in table.indexes
            if index.unique
        }
        print(json.dumps({name: text.split(" WHERE ")[1:] for name, text in ddl.items()}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == {
        "uq_sync_runs_one_running": ["status IN ('querying', 'processing', 'reporting')"],
        "uq_sync_runs_one_queued": ["status = 'queued'"],
        "uq_sync_sequence_runs_one_pending": ["status = 'pending'"],
        "uq_sync_sequence_runs_one_running": ["status = 'running'"],
    }
