"""Process settings, read once from ``SYNCLINE_*`` environment variables.

Every setting has one environment name (``SYNCLINE_`` plus the field name in upper
case). Values are validated together, so a bad setting is reported before any work.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from syncline.errors import ConfigError

logger = logging.getLogger(__name__)

PREFIX = "SYNCLINE_"


def default_planner_memory_limit() -> str:
    """The planner's default DuckDB memory cap: a quarter of the machine's memory.

    The cap is a ceiling, not what a run takes: DuckDB works under the smaller join
    budget (``SYNCLINE_PLANNER_JOIN_MEMORY``, see :attr:`Settings.planner_join_memory`)
    and may reach the cap only in the one-pass join of a snapshot that fits the budget.
    A run's peak memory thus stays about flat as the model grows (``bench/README.md``).
    Set ``SYNCLINE_PLANNER_MEMORY_LIMIT`` (e.g. ``512MB``) to bound that join too.

    At least 256 MiB; 1 GiB when the machine's memory cannot be read.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "1GiB"
    return f"{max(256, total // 4 // 2**20)}MiB"


MIN_PLANNER_JOIN_MEMORY = 64 * 2**20
"""The smallest join budget: DuckDB's partitioned join of a few hundred thousand rows
already ran out of memory at 32 MB."""

DEFAULT_PLANNER_JOIN_MEMORY = "192MiB"
"""The default working budget of the planner's join against a large snapshot (see
:attr:`Settings.planner_join_memory`)."""

DEFAULT_ROW_RESULTS_RETENTION_DAYS = 7
"""As long as Hightouch's debugger keeps row-level data."""

MAX_ROW_RESULTS_RETENTION_DAYS = 36_500
"""A hundred years: the longest retention, far enough to mean "keep them"."""

DEFAULT_SUCCEEDED_ROWS_PER_RUN = 10_000
"""Enough to look rows up in a typical incremental run, few enough that a full resync of
millions of rows adds tens of milliseconds to the run and a few MB to the catalog."""

MAX_SUCCEEDED_ROWS_PER_RUN = 10_000_000
"""The most a run may keep: beyond it the catalog grows by gigabytes per run."""

DEFAULT_REQUEST_BODY_LIMIT = 2**20
"""1 MiB: far above any resource's configuration, far below what strains the server."""

_MEMORY_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(?:([KMGT])(iB|B)?|B)?", re.IGNORECASE)
"""A memory size as DuckDB's memory_limit takes it, e.g. ``512MB``, ``1.5GiB`` or ``2G``."""


def is_memory_size(size: str) -> bool:
    """Whether ``size`` is a memory size :func:`memory_bytes` reads."""
    return _MEMORY_SIZE.fullmatch(size.strip()) is not None


def memory_bytes(size: str) -> int:
    """The bytes a memory size such as ``512MB``, ``1.5GiB`` or ``2G`` stands for.

    Read as DuckDB reads ``memory_limit``: ``KB``, ``MB``, ... (and a bare ``K``, ``M``,
    ...) are powers of 1000, ``KiB``, ``MiB``, ... powers of 1024.
    """
    match = _MEMORY_SIZE.fullmatch(size.strip())
    if match is None:
        raise ValueError(f"{size!r} is not a memory size")
    number, prefix, suffix = match.groups()
    scale = 1
    if prefix:
        base = 1024 if suffix and suffix.lower() == "ib" else 1000
        scale = base ** ("KMGT".index(prefix.upper()) + 1)
    return int(float(number) * scale)


@dataclass(frozen=True)
class Settings:
    """Resolved settings of this process."""

    home: Path = field(default_factory=lambda: Path(".syncline"))
    """Folder of the embedded control plane, snapshots and the secret key."""

    database_url: str | None = None
    """Control-plane database; a SQLite file in ``home`` when unset."""

    secret_key: str | None = None
    """Fernet key for secrets at rest; a key file in ``home`` is made when unset."""

    dbt_cloud_url: str | None = None
    """dbt Cloud access URL that dbt Cloud schedules poll (``SYNCLINE_DBT_CLOUD_URL``).

    No default: nothing is contacted until an operator names their region's URL."""

    dbt_cloud_token: str | None = field(default=None, repr=False)
    """Token that may read the job runs of dbt Cloud schedules (``SYNCLINE_DBT_CLOUD_TOKEN``)."""

    log_level: str = "WARNING"
    """Log level of the command line and server."""

    log_format: str = "text"
    """``text`` or ``json``."""

    planner_memory_limit: str | None = field(default_factory=default_planner_memory_limit)
    """DuckDB memory cap of the local planner, e.g. ``2GB`` (``SYNCLINE_PLANNER_MEMORY_LIMIT``);
    a quarter of the machine's memory by default (see :func:`default_planner_memory_limit`)."""

    planner_join_memory: str = DEFAULT_PLANNER_JOIN_MEMORY
    """Working budget of the local planner's DuckDB, e.g. ``512MB``
    (``SYNCLINE_PLANNER_JOIN_MEMORY``); never more than the memory cap.

    Two numbers, because they answer two questions. The budget is what DuckDB works in:
    the join of every model row to the snapshot, the journal's merge, the sorts of a
    first run's plan all grow with the model, and under the budget DuckDB partitions
    and spills them to disk, so a run's peak memory stays about flat as the model
    grows. A snapshot whose keys would not fit the budget is joined narrow (key,
    prefilter, position and id only), so that what spills is narrow. The cap is the
    ceiling for the one step that runs faster in memory: the one-pass join of a
    snapshot that fits the budget, which carries the model's columns through the join
    and would spill them too. DuckDB's partitioned join itself needs some tens of
    megabytes: keep the budget above 64MB."""

    planner_threads: int | None = None
    """DuckDB threads of the local planner; all cores by default."""

    workspace: str | None = None
    """Workspace the command line works in; else a project folder's, else ``default``."""

    worker_concurrency: int = 1
    """Runs a worker process executes at once (``SYNCLINE_WORKER_CONCURRENCY``)."""

    worker_heartbeat_seconds: float = 10.0
    """How often a worker and its runs show they are alive."""

    worker_stale_seconds: float = 60.0
    """A worker or run silent this long is presumed stopped; its runs are interrupted."""

    worker_name: str | None = None
    """This worker's name in the catalog; the host name when unset."""

    snapshot_lock_wait_seconds: float = 300.0
    """How long a run waits for its sync's snapshot file while another process holds it
    (``SYNCLINE_SNAPSHOT_LOCK_WAIT_SECONDS``), heartbeating meanwhile. A worker presumed
    stopped, paused say, keeps the file until it wakes; a run still without the file
    after this long ends ``interrupted``, naming the holder, and a new run is queued."""

    row_results_retention_days: int = DEFAULT_ROW_RESULTS_RETENTION_DAYS
    """Days the row results of a finished run are kept (``SYNCLINE_ROW_RESULTS_RETENTION_DAYS``);
    those a sync still needs stay longer (see :mod:`syncline.catalog.rows`)."""

    succeeded_rows_per_run: int = DEFAULT_SUCCEEDED_ROWS_PER_RUN
    """How many of a run's acknowledged rows are kept for listing, the first delivered
    (``SYNCLINE_SUCCEEDED_ROWS_PER_RUN``); 0 keeps none. Rejected rows are all kept."""

    alert_allowed_hosts: tuple[str, ...] = ()
    """The only hosts alert recipients may name (``SYNCLINE_ALERT_ALLOWED_HOSTS``, comma
    list, lower case); any host when empty. Link-local and metadata hosts are refused
    either way (see :func:`syncline.security.hosts.refused_host`)."""

    file_roots: tuple[Path, ...] = ()
    """Folders file-based connectors may use (``SYNCLINE_FILE_ROOTS``, ``os.pathsep``-separated);
    ``{workspace}`` in one stands for the workspace's slug; ``home/files/{workspace}`` when
    empty. See :mod:`syncline.security.files`."""

    request_body_limit: int = DEFAULT_REQUEST_BODY_LIMIT
    """Bytes of a request body the API and web UI read (``SYNCLINE_REQUEST_BODY_LIMIT``, a
    size such as ``4MiB``); a larger body is answered 413 unread."""

    @property
    def catalog_url(self) -> str:
        """The SQLAlchemy URL of the control plane."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'syncline.db').resolve()}"

    @property
    def row_results_retention(self) -> timedelta:
        """How long the row results of a finished run are kept."""
        return timedelta(days=self.row_results_retention_days)

    @property
    def snapshot_dir(self) -> Path:
        """Folder where the local planner keeps one snapshot file per sync."""
        return self.home / "snapshots"


def _env(name: str) -> str | None:
    value = os.environ.get(PREFIX + name.upper())
    if value is not None and value.strip() != "":
        logger.debug("setting %s%s taken from the environment", PREFIX, name.upper())
        return value
    return None


def load_settings() -> Settings:
    """Read and validate every setting from the environment."""
    problems: list[str] = []

    log_format = (_env("log_format") or "text").lower()
    if log_format not in ("text", "json"):
        problems.append(f"SYNCLINE_LOG_FORMAT={log_format!r} must be 'text' or 'json'")

    log_level = (_env("log_level") or "WARNING").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        problems.append(
            f"SYNCLINE_LOG_LEVEL={log_level!r} must be one of DEBUG, INFO, WARNING, ERROR"
        )

    dbt_cloud_url = _env("dbt_cloud_url")
    if dbt_cloud_url is not None and not dbt_cloud_url.startswith(("http://", "https://")):
        problems.append(
            f"SYNCLINE_DBT_CLOUD_URL={dbt_cloud_url!r} must be an http(s) URL, e.g. your "
            "dbt Cloud access URL"
        )

    threads: int | None = None
    raw_threads = _env("planner_threads")
    if raw_threads is not None:
        try:
            threads = int(raw_threads)
            if threads < 1:
                raise ValueError
        except ValueError:
            problems.append(f"SYNCLINE_PLANNER_THREADS={raw_threads!r} must be a positive integer")

    memory_limit = _env("planner_memory_limit") or default_planner_memory_limit()
    if not is_memory_size(memory_limit):
        problems.append(
            f"SYNCLINE_PLANNER_MEMORY_LIMIT={memory_limit!r} must be a size such as "
            "512MB, 2GB or 1.5GiB"
        )

    join_memory = (_env("planner_join_memory") or DEFAULT_PLANNER_JOIN_MEMORY).strip()
    if not is_memory_size(join_memory):
        problems.append(
            f"SYNCLINE_PLANNER_JOIN_MEMORY={join_memory!r} must be a size such as "
            "256MB, 1GB or 512MiB"
        )
    elif memory_bytes(join_memory) < MIN_PLANNER_JOIN_MEMORY:
        # Below this DuckDB's partitioned join runs out of memory on large snapshots.
        problems.append(
            f"SYNCLINE_PLANNER_JOIN_MEMORY={join_memory!r} is too small for the planner's "
            "joins; give it at least 64MiB"
        )

    concurrency = _positive("worker_concurrency", "1", int, problems)
    heartbeat = _positive("worker_heartbeat_seconds", "10", float, problems)
    stale = _positive("worker_stale_seconds", "60", float, problems)
    if heartbeat and stale and stale <= heartbeat:
        problems.append(
            f"SYNCLINE_WORKER_STALE_SECONDS={stale:g} must be more than "
            f"SYNCLINE_WORKER_HEARTBEAT_SECONDS={heartbeat:g}, or live workers look stopped"
        )

    lock_wait = _positive("snapshot_lock_wait_seconds", "300", float, problems)
    retention_days = _retention_days(problems)
    succeeded_rows = _succeeded_rows_per_run(problems)

    body_limit = _request_body_limit(problems)

    home = Path(_env("home") or ".syncline")
    database_url = _env("database_url")
    file_roots = tuple(Path(p) for p in (_env("file_roots") or "").split(os.pathsep) if p.strip())
    problems += _file_root_problems(file_roots, Settings(home=home, database_url=database_url))

    if problems:
        raise ConfigError("invalid settings: " + "; ".join(problems))

    return Settings(
        home=home,
        database_url=database_url,
        secret_key=_env("secret_key"),
        dbt_cloud_url=dbt_cloud_url,
        dbt_cloud_token=_env("dbt_cloud_token"),
        log_level=log_level,
        log_format=log_format,
        planner_memory_limit=memory_limit.strip(),
        planner_join_memory=join_memory,
        planner_threads=threads,
        workspace=_env("workspace"),
        worker_concurrency=int(concurrency),
        worker_heartbeat_seconds=heartbeat,
        worker_stale_seconds=stale,
        worker_name=(_env("worker_name") or "").strip() or None,
        snapshot_lock_wait_seconds=lock_wait,
        row_results_retention_days=retention_days,
        succeeded_rows_per_run=succeeded_rows,
        file_roots=file_roots,
        request_body_limit=body_limit,
        alert_allowed_hosts=tuple(
            h.strip().lower() for h in (_env("alert_allowed_hosts") or "").split(",") if h.strip()
        ),
    )


def _file_root_problems(roots: tuple[Path, ...], base: Settings) -> list[str]:
    """Why configured file roots are unsafe (they would expose the key or the catalog)."""
    from syncline.security.files import root_problems, sqlite_catalog_file

    return root_problems(roots, base.home, sqlite_catalog_file(base))


def _positive(name: str, default: str, kind: type[int] | type[float], problems: list[str]) -> float:
    """A positive number from ``SYNCLINE_<NAME>``; 0 after recording a problem."""
    raw = _env(name) or default
    try:
        value = kind(raw.strip())
        if value <= 0:
            raise ValueError
    except ValueError:
        noun = "integer" if kind is int else "number"
        problems.append(f"{PREFIX}{name.upper()}={raw!r} must be a positive {noun}")
        return 0
    return float(value)


def _retention_days(problems: list[str]) -> int:
    """Days from ``SYNCLINE_ROW_RESULTS_RETENTION_DAYS``; the default after a problem."""
    raw = _env("row_results_retention_days")
    if raw is None:
        return DEFAULT_ROW_RESULTS_RETENTION_DAYS
    try:
        days = int(raw.strip())
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_ROW_RESULTS_RETENTION_DAYS:
        problems.append(
            f"SYNCLINE_ROW_RESULTS_RETENTION_DAYS={raw!r} must be a whole number of days "
            f"from 1 to {MAX_ROW_RESULTS_RETENTION_DAYS}, e.g. 7 (the default) or 30"
        )
        return DEFAULT_ROW_RESULTS_RETENTION_DAYS
    return days


def _succeeded_rows_per_run(problems: list[str]) -> int:
    """Rows from ``SYNCLINE_SUCCEEDED_ROWS_PER_RUN``; the default after a problem."""
    raw = _env("succeeded_rows_per_run")
    if raw is None:
        return DEFAULT_SUCCEEDED_ROWS_PER_RUN
    try:
        rows = int(raw.strip())
    except ValueError:
        rows = -1
    if not 0 <= rows <= MAX_SUCCEEDED_ROWS_PER_RUN:
        problems.append(
            f"SYNCLINE_SUCCEEDED_ROWS_PER_RUN={raw!r} must be a whole number of rows from 0 "
            f"(keep none) to {MAX_SUCCEEDED_ROWS_PER_RUN}, e.g. 10000 (the default)"
        )
        return DEFAULT_SUCCEEDED_ROWS_PER_RUN
    return rows


def _request_body_limit(problems: list[str]) -> int:
    """Bytes from ``SYNCLINE_REQUEST_BODY_LIMIT``; the default after a problem."""
    raw = _env("request_body_limit")
    if raw is None:
        return DEFAULT_REQUEST_BODY_LIMIT
    limit = memory_bytes(raw) if is_memory_size(raw) else 0
    if limit < 1:
        problems.append(
            f"SYNCLINE_REQUEST_BODY_LIMIT={raw!r} must be a size such as 1MiB (the default), "
            "512KB or 4194304 bytes"
        )
        return DEFAULT_REQUEST_BODY_LIMIT
    return limit


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read on first use."""
    return load_settings()
