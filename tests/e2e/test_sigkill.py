"""A ``syncline run`` process SIGKILLed mid-delivery, then run again, on a real PostgreSQL.

The destination table carries a trigger that records every row it writes, with the
writing transaction's id, so the test sees exactly what each run wrote. The rows the
killed run acknowledged are read from the sync's snapshot file after the kill. The
next run must leave the destination equal to the model, send the unacknowledged
remainder plus the source's changes since, and write no acknowledged row again. A
killed full resync is finished the same way by a plain run, on either planner.
"""

from __future__ import annotations

import os
import signal
import textwrap
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from e2e_harness import (
    acknowledged_keys,
    list_runs,
    other_sessions,
    start_syncline,
    syncline,
    syncline_env,
    wait_until,
)

from syncline.connectors.destinations.postgres import PostgresDestination

pytestmark = pytest.mark.postgres

MODEL_ROWS = 200_000
BATCH_ROWS = PostgresDestination.capabilities.max_batch_rows
KILL_AFTER_WRITES = min(2 * BATCH_ROWS, MODEL_ROWS // 2)
"""Kill once this many destination rows are written: a batch or two in, well before the end."""

SYNC = "rows-mirror"
MODEL_SQL = "SELECT id, name, amount, updated_at FROM source_rows"

_SETUP = """
CREATE TABLE source_rows (
  id bigint PRIMARY KEY, name text, amount numeric(12, 2), updated_at timestamptz,
  internal_note text
);
INSERT INTO source_rows
SELECT g, 'name-' || g, (g % 1000) / 7.0, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 s',
       'note-' || g
FROM generate_series(1, {rows}) g;

CREATE TABLE dest_rows (
  id bigint PRIMARY KEY, name text, amount numeric(12, 2), updated_at timestamptz
);
CREATE TABLE dest_audit (seq bigserial PRIMARY KEY, id bigint, operation text, txid bigint);
CREATE FUNCTION dest_audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO dest_audit (id, operation, txid) VALUES (OLD.id, TG_OP, txid_current());
  ELSE
    INSERT INTO dest_audit (id, operation, txid) VALUES (NEW.id, TG_OP, txid_current());
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER dest_audit AFTER INSERT OR UPDATE OR DELETE ON dest_rows
FOR EACH ROW EXECUTE FUNCTION dest_audit_row();

-- A notification, delivered when a batch's transaction commits.
CREATE FUNCTION dest_notify_batch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('dest_batch', '');
  RETURN NULL;
END $$;
CREATE TRIGGER dest_notify_batch AFTER INSERT ON dest_rows
FOR EACH STATEMENT EXECUTE FUNCTION dest_notify_batch();
"""

_PROJECT = """
sources:
  - slug: warehouse
    type: postgres
    configuration:
      {{host: 127.0.0.1, port: 5432, user: postgres, database: {database}, planner: {planner}}}
models:
  - slug: rows
    source: warehouse
    primaryKey: id
    raw: {{sql: "{model}"}}
destinations:
  - slug: reporting
    type: postgres
    # One batch in flight, as the plan counts expected after the kill assume: with more,
    # more keys are in doubt, and a doubted key the model lost is planned as removed.
    configuration:
      {{host: 127.0.0.1, port: 5432, user: postgres, database: {database}, concurrency: 1}}
syncs:
  - slug: {sync}
    model: rows
    destination: reporting
    configuration: {{mode: mirror, object: dest_rows}}
"""

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass
class Mutations:
    """What the source changed between the killed run and the next one, by key."""

    changed_acked: set[int]
    deleted_acked: set[int]
    note_only_acked: set[int]
    changed_unsent: set[int]
    deleted_unsent: set[int]
    inserted: set[int]
    deleted_unacked_sent: set[int] = field(default_factory=set)


@dataclass
class KilledRun:
    """What the SIGKILLed run left: its process id, and the keys it wrote and acknowledged."""

    pid: int
    acked: set[int]
    written: set[int]

    @property
    def written_unacked(self) -> set[int]:
        """Keys the destination committed but the engine had not acknowledged yet."""
        return self.written - self.acked


@pytest.fixture
def conn(make_postgres_database: Callable[[], str]) -> Iterator[Conn]:
    """A fresh database holding the source table and the audited destination table."""
    name = make_postgres_database().rsplit("/", 1)[1]
    with psycopg.connect(_conninfo(name), autocommit=True) as connection:
        connection.execute(_SETUP.format(rows=MODEL_ROWS))
        yield connection


@pytest.fixture
def env(tmp_path: Path, conn: Conn) -> dict[str, str]:
    """The environment of a ``SYNCLINE_HOME`` where the YAML project has been applied."""
    return _applied(tmp_path, conn, "local")


def _applied(tmp_path: Path, conn: Conn, planner: str) -> dict[str, str]:
    """Apply the project, its source planning on ``planner``; returns the environment."""
    folder = tmp_path / "project"
    folder.mkdir()
    text = _PROJECT.format(database=conn.info.dbname, model=MODEL_SQL, sync=SYNC, planner=planner)
    (folder / "project.yml").write_text(textwrap.dedent(text))
    env = syncline_env(tmp_path / "home")

    applied = syncline(env, "apply", "--project", str(folder), timeout=60)
    assert applied.returncode == 0, applied.stderr
    return env


@pytest.fixture
def killed_run(
    request: pytest.FixtureRequest, tmp_path: Path, conn: Conn, env: dict[str, str]
) -> KilledRun:
    """A ``syncline run`` SIGKILLed mid-delivery, its sessions gone, its snapshot read.

    Parametrize indirectly with ``"on_commit"`` to kill the instant a batch commits,
    before the engine can acknowledge it; by default the kill lands wherever polling does.
    """
    log = tmp_path / "killed-run.log"
    if getattr(request, "param", None) == "on_commit":
        pid = _kill_on_commit(env, log, conn)
    else:
        pid = _kill_mid_delivery(env, log, conn)

    # The killed process's server sessions may still be finishing a statement: wait
    # until they are gone, so every later transaction id belongs to the next run.
    assert wait_until(lambda: other_sessions(conn) == 0, timeout=30), (
        "the killed run's sessions are still connected"
    )
    written = _written_keys(conn, after_txid=0)
    assert all(count == 1 for count in written.values()), "the killed run wrote a key twice"
    snapshot_file = Path(env["SYNCLINE_HOME"]) / "snapshots" / "sync-1.duckdb"
    acked = {int(key) for key in acknowledged_keys(snapshot_file)}

    assert 0 < len(acked) < MODEL_ROWS, f"{len(acked)} rows acknowledged before the kill"
    unwritten = acked - set(written)
    assert not unwritten, f"{len(unwritten)} rows acknowledged but never written"
    return KilledRun(pid=pid, acked=acked, written=set(written))


def test_next_run_finishes_a_sigkilled_run_without_resending_acknowledged_rows(
    conn: Conn, env: dict[str, str], killed_run: KilledRun
) -> None:
    acked = killed_run.acked
    mutations = _mutate_source(conn, killed_run)
    boundary = _current_txid(conn)

    resumed = syncline(env, "run", SYNC, timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    _assert_destination_equals_model(conn)
    written_by_next = _written_keys(conn, after_txid=boundary)

    # The next run writes each key at most once, and an acknowledged key only when the
    # source changed one of its mapped columns since.
    repeated = [key for key, count in written_by_next.items() if count > 1]
    assert not repeated, f"keys written twice by the next run, e.g. {sorted(repeated)[:5]}"
    resent = (set(written_by_next) & acked) - mutations.changed_acked - mutations.deleted_acked
    assert not resent, (
        f"{len(resent)} acknowledged, unchanged rows were written again, e.g. {sorted(resent)[:5]}"
    )

    remainder = (set(range(1, MODEL_ROWS + 1)) - acked - mutations.deleted_unsent) | (
        mutations.inserted
    )
    expected_writes = remainder | mutations.changed_acked | mutations.deleted_acked
    assert set(written_by_next) == expected_writes, (
        f"missing {sorted(expected_writes - set(written_by_next))[:5]}, "
        f"unexpected {sorted(set(written_by_next) - expected_writes)[:5]} "
        f"({len(killed_run.written_unacked)} rows were written but not acknowledged "
        "before the kill)"
    )

    runs = list_runs(env, SYNC)
    assert sorted(runs) == [1, 2]
    assert runs[1].status == "interrupted", runs[1]
    assert str(killed_run.pid) in runs[1].error, runs[1]
    # Its record counts what the snapshot journal says it delivered, even a batch it died
    # before reporting: the next run settled that on it.
    assert runs[1].succeeded == f"{len(acked)}/0/0", runs[1]
    planned = f"{len(remainder)}/{len(mutations.changed_acked)}/{len(mutations.deleted_acked)}"
    assert runs[2].status == "success", runs[2]
    assert runs[2].planned == planned, runs[2]


@pytest.mark.parametrize("killed_run", ["on_commit"], indirect=True)
def test_row_written_but_not_acknowledged_then_deleted_is_removed_by_the_next_run(
    conn: Conn, env: dict[str, str], killed_run: KilledRun
) -> None:
    if not killed_run.written_unacked:
        pytest.skip(
            "the kill landed between batches, not between a batch's commit and its "
            "acknowledgement, so there is no such row to delete this time"
        )
    _mutate_source(conn, killed_run, delete_unacked_sent=50)

    resumed = syncline(env, "run", SYNC, timeout=120)
    if resumed.returncode != 0:
        pytest.fail(f"the next run failed: {resumed.stdout}{resumed.stderr}")

    _assert_destination_equals_model(conn)


@pytest.mark.parametrize("planner", ["local", "warehouse"])
def test_next_run_finishes_a_sigkilled_full_resync_without_resending_acknowledged_rows(
    tmp_path: Path, conn: Conn, planner: str
) -> None:
    env = _applied(tmp_path, conn, planner)
    synced = syncline(env, "run", SYNC, timeout=180)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    # Changed out of band: only a full resync puts these rows right.
    conn.execute("UPDATE dest_rows SET name = 'stale'")
    resync_start = _current_txid(conn)

    pid = _kill_mid_delivery(
        env, tmp_path / "resync.log", conn, "--full-resync", after_txid=resync_start
    )
    assert wait_until(lambda: other_sessions(conn) == 0, timeout=30), (
        "the killed run's sessions are still connected"
    )
    acked = _acknowledged_by_resync(env, conn, planner)
    boundary = _current_txid(conn)

    resumed = syncline(env, "run", SYNC, timeout=180)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    # The rows the resync had not reached are no longer left stale.
    _assert_destination_equals_model(conn)
    assert 0 < len(acked) < MODEL_ROWS, f"{len(acked)} rows acknowledged before the kill"
    assert acked <= set(_written_keys(conn, after_txid=resync_start))
    written_by_next = _written_keys(conn, after_txid=boundary)
    repeated = [key for key, count in written_by_next.items() if count > 1]
    assert not repeated, f"keys written twice by the next run, e.g. {sorted(repeated)[:5]}"
    resent = set(written_by_next) & acked
    assert not resent, f"{len(resent)} acknowledged rows were written again"
    assert set(written_by_next) == set(range(1, MODEL_ROWS + 1)) - acked

    runs = list_runs(env, SYNC)
    assert sorted(runs) == [1, 2, 3]
    assert runs[2].status == "interrupted", runs[2]
    assert str(pid) in runs[2].error, runs[2]
    assert runs[3].status == "success", runs[3]
    assert runs[3].planned == f"{MODEL_ROWS - len(acked)}/0/0", runs[3]
    # The two runs' counts add up to the rows delivered, each row counted once.
    assert runs[2].succeeded == f"{len(acked)}/0/0", runs[2]
    assert runs[3].succeeded == f"{MODEL_ROWS - len(acked)}/0/0", runs[3]


def _acknowledged_by_resync(env: dict[str, str], conn: Conn, planner: str) -> set[int]:
    """Keys the killed resync committed as delivered: settled snapshot entries (the
    resync made every other entry unknown) plus the journal's acknowledgements."""
    query = (
        "SELECT key FROM {snapshot} WHERE fp IS NOT NULL "
        "UNION ALL SELECT key FROM {journal} WHERE kind = 'ack'"
    )
    if planner == "warehouse":
        rows = conn.execute(
            query.format(
                snapshot="syncline_planner.sync_1_snapshot",
                journal="syncline_planner.sync_1_journal",
            )
        ).fetchall()
    else:
        snapshot_file = Path(env["SYNCLINE_HOME"]) / "snapshots" / "sync-1.duckdb"
        with duckdb.connect(str(snapshot_file), read_only=True) as con:
            rows = con.execute(query.format(snapshot="snapshot", journal="journal")).fetchall()
    return {int(key) for (key,) in rows}


def _kill_mid_delivery(
    env: dict[str, str], log: Path, conn: Conn, *flags: str, after_txid: int = 0
) -> int:
    """Start a run and SIGKILL it once some, not all, rows reached the destination.

    Only rows written by transactions newer than ``after_txid`` count.
    """
    process = start_syncline(env, "run", SYNC, *flags, log=log)
    try:
        wait_until(
            lambda: process.poll() is not None or _audited(conn, after_txid) >= KILL_AFTER_WRITES,
            timeout=60,
        )
        assert process.poll() is None, (
            f"the run ended (exit {process.returncode}) before it could be killed: "
            f"{log.read_text()}"
        )
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert _audited(conn, after_txid) < MODEL_ROWS, "the killed run had already written every row"
    return process.pid


def _kill_on_commit(env: dict[str, str], log: Path, conn: Conn) -> int:
    """Start a run and SIGKILL it the moment its third batch commits in the destination."""
    conn.execute("LISTEN dest_batch")
    process = start_syncline(env, "run", SYNC, log=log)
    try:
        commits = sum(1 for _ in conn.notifies(timeout=60, stop_after=3))
        assert commits == 3, f"{commits} batches committed: {log.read_text()}"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait(timeout=30)
        conn.execute("UNLISTEN dest_batch")
    assert process.returncode == -signal.SIGKILL
    return process.pid


def _mutate_source(conn: Conn, killed: KilledRun, *, delete_unacked_sent: int = 0) -> Mutations:
    """Change, delete and insert source rows: acknowledged ones and ones never sent.

    With ``delete_unacked_sent``, also delete that many rows the killed run wrote but
    had not acknowledged.
    """
    acked = sorted(killed.acked)
    unsent = sorted(set(range(1, MODEL_ROWS + 1)) - killed.written)
    mutations = Mutations(
        changed_acked=set(acked[0:100:2]),
        deleted_acked=set(acked[1:100:2]),
        note_only_acked=set(acked[100:150]),
        changed_unsent=set(unsent[0:100:2]),
        deleted_unsent=set(unsent[1:100:2]),
        inserted=set(range(MODEL_ROWS + 1, MODEL_ROWS + 51)),
        deleted_unacked_sent=set(sorted(killed.written_unacked)[:delete_unacked_sent]),
    )
    deleted = mutations.deleted_acked | mutations.deleted_unsent | mutations.deleted_unacked_sent
    with conn.transaction():
        conn.execute(
            "UPDATE source_rows SET name = name || ' (renamed)', amount = amount + 1 "
            "WHERE id = ANY(%s)",
            [sorted(mutations.changed_acked | mutations.changed_unsent)],
        )
        # A column the model does not select: not a change of the model's rows.
        conn.execute(
            "UPDATE source_rows SET internal_note = 'edited' WHERE id = ANY(%s)",
            [sorted(mutations.note_only_acked)],
        )
        conn.execute("DELETE FROM source_rows WHERE id = ANY(%s)", [sorted(deleted)])
        conn.execute(
            "INSERT INTO source_rows SELECT g, 'new-' || g, 1.5, now(), NULL "
            "FROM unnest(%s::bigint[]) g",
            [sorted(mutations.inserted)],
        )
    return mutations


def _assert_destination_equals_model(conn: Conn) -> None:
    destination = "SELECT id, name, amount, updated_at FROM dest_rows"
    counts = conn.execute(
        f"SELECT (SELECT count(*) FROM ({MODEL_SQL}) m), (SELECT count(*) FROM dest_rows), "
        f"(SELECT count(*) FROM ({MODEL_SQL} EXCEPT ALL {destination}) a), "
        f"(SELECT count(*) FROM ({destination} EXCEPT ALL {MODEL_SQL}) b)"
    ).fetchone()
    assert counts is not None
    model_rows, destination_rows, missing, extra = counts
    assert (missing, extra) == (0, 0), f"{missing} model rows missing, {extra} rows extra"
    assert model_rows == destination_rows


def _written_keys(conn: Conn, *, after_txid: int) -> Counter[int]:
    """How often each key was written by transactions newer than ``after_txid``."""
    rows = conn.execute("SELECT id FROM dest_audit WHERE txid > %s", [after_txid]).fetchall()
    return Counter(int(key) for (key,) in rows)


def _audited(conn: Conn, after_txid: int = 0) -> int:
    row = conn.execute("SELECT count(*) FROM dest_audit WHERE txid > %s", [after_txid]).fetchone()
    return int(row[0]) if row else 0


def _current_txid(conn: Conn) -> int:
    row = conn.execute("SELECT txid_current()").fetchone()
    assert row is not None
    return int(row[0])


def _conninfo(database: str) -> str:
    return f"host=127.0.0.1 port=5432 user=postgres dbname={database} connect_timeout=5"
