"""The run error for a repeated primary key agrees in number with how many keys repeat."""

from __future__ import annotations

from pathlib import Path

from test_diff import mirror

from syncline.engine.report import RunStatus


def test_one_repeated_key_is_named_in_the_singular(tmp_path: Path) -> None:
    result = mirror(tmp_path, [(1, "ann", 1.0), (2, "bo", 0.0), (2, "bo", 0.0)]).run()

    assert result.status is RunStatus.FAILED
    assert result.error is not None
    assert "is not unique: 1 key repeats, e.g. '2' (2 rows)" in result.error
