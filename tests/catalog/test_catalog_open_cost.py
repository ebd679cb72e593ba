"""Opening a catalog that is already at head skips Alembic, and the skip is never stale."""

from __future__ import annotations

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
