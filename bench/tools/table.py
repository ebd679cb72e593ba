"""What each tool did in each mode, the checks and targets it is judged by, and the printout.

Times are the whole child process (interpreter start-up included) for every tool, so the
tools are compared on the same footing; Syncline's own run duration from its run record is
printed beside it and is what the floor target uses, as in ``tpch_orders.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from mutate import Mutation
from tools.child import ChildRun
from tools.job import MODES, Tool

logger = logging.getLogger(__name__)

MIB = 1 << 20
REFERENCE = "syncline_local"
"""The Syncline every ratio is taken against: the default, local planner."""
WAREHOUSE = "syncline_warehouse"
COMPETITORS = ("drt", "dlt")
FLOOR = "floor"

# Targets from the issue.
MIN_SPEEDUP_OVER_COMPETITORS = 5.0
MAX_OVER_FLOOR = 2.0
# The in-warehouse planner moves only changed rows (2% of the model): the source may send its
# incremental run at most this share of the model's binary COPY size.
MAX_WAREHOUSE_MOVED_SHARE = 0.10


@dataclass
class Result:
    """One tool in one mode: both runs and the checks of its destination after each."""

    tool: Tool
    mode: str
    unavailable: str | None = None
    initial: ChildRun | None = None
    incremental: ChildRun | None = None
    initial_diff: tuple[int, int] | None = None
    incremental_diff: tuple[int, int] | None = None
    counted: Result | None = None
    """The same tool and mode run again with its source bytes counted (Syncline only)."""
    check_error: str | None = None
    """Why the destination could not be compared, e.g. the tool made no table."""
    rounds: list[ChildRun] = field(default_factory=list)
    """The incremental runs of every round of changes, in order."""
    round_diffs: list[tuple[int, int] | None] = field(default_factory=list)
    """The check of the destination after each round's run."""

    def judge_rounds(self) -> None:
        """Take the rounds' median run (by wall time) as the incremental run, and the
        first failed or wrong round, if any, as the result: one wrong round is enough."""
        for run, diff in zip(self.rounds, self.round_diffs, strict=True):
            if not run.ok or diff != (0, 0):
                self.incremental, self.incremental_diff = run, diff
                return
        ordered = sorted(self.rounds, key=lambda run: run.wall_s)
        self.incremental = ordered[(len(ordered) - 1) // 2]
        self.incremental_diff = (0, 0)

    @property
    def wrong(self) -> str | None:
        """Why the result is wrong, or None when every run succeeded and checked out."""
        for phase, run, diff in (
            ("initial load", self.initial, self.initial_diff),
            ("incremental run", self.incremental, self.incremental_diff),
        ):
            if run is None:
                return f"{phase} did not run"
            if not run.ok:
                return f"{phase} failed (exit code {run.exit_code}): {_cause(run.log_tail)}"
            if diff is None:
                return f"after the {phase}, no check: {self.check_error}"
            if diff != (0, 0):
                missing, extra = diff
                return (
                    f"after the {phase}, {missing:,} expected rows missing and {extra:,} rows "
                    "that should not be there"
                )
        return None


def _cause(log_tail: str) -> str:
    """The line of a failed run's output that most likely names the cause."""
    lines = [line.strip() for line in log_tail.splitlines() if line.strip()]
    named = [line for line in lines if "Error" in line or "Exception" in line]
    return (named or lines or ["no output"])[-1][:300]


def print_results(
    results: list[Result],
    *,
    scale_factor: float,
    initial_rows: int,
    rows: int,
    changes: Mutation,
    changed_bytes: dict[str, int],
    machine: str,
) -> bool:
    """Print the table, the checks and the targets; return whether everything passed."""
    print()
    print(
        f"TPC-H orders, scale factor {scale_factor:g}: {initial_rows:,} rows, then "
        f"+{changes.added:,} ~{changes.changed:,} -{changes.removed:,} ({rows:,} rows)"
    )
    print(f"machine: {machine}")
    print("times: the whole process; x Syncline = time / Syncline local planner's time")
    print()
    head = f"{'s':>8}{'rows/s':>11}{'peak MB':>8}{'x Sync':>8}"
    print(f"{'':30}{'':7}| {'initial load':^35}| {'incremental run':^43}|")
    print(f"{'tool':30}{'mode':7}|{head} |{head}{'src MB':>8} | correct")
    by_key = {(result.tool.key, result.mode): result for result in results}
    for result in results:
        print(_row(result, by_key.get((REFERENCE, result.mode)), initial_rows, rows))

    print()
    for result in results:
        for phase, run in (("initial", result.initial), ("incremental", result.incremental)):
            if run is not None and run.run_s is not None:
                print(
                    f"{result.tool.label}, {result.mode}, {phase}: the run itself "
                    f"{run.run_s:.2f} s (its record), {run.cpu_s:.2f} s CPU"
                )
    for result in results:
        counted = result.counted
        if counted is not None and counted.wrong is not None:
            print(f"{result.tool.label}, {result.mode}: counting run failed: {counted.wrong}")
    model_bytes = _model_bytes(results)
    if model_bytes:
        print(f"the model's binary COPY stream: {_mib(model_bytes)}")
    for mode in MODES:
        if mode in changed_bytes:
            size = _mib(changed_bytes[mode])
            print(f"floor, {mode}: the changed rows' binary COPY stream: {size}")

    print()
    print("how each tool was set up:")
    seen: set[str] = set()
    for result in results:
        if result.tool.key not in seen:
            seen.add(result.tool.key)
            print(f"  {result.tool.label}: {result.tool.setup}")

    print()
    passed = True
    for result in results:
        if result.unavailable is None and result.wrong is not None:
            print(f"WRONG  {result.tool.label}, {result.mode}: {result.wrong}")
            passed = False
    for mode in MODES:
        passed &= _targets(by_key, mode, model_bytes)
    print(f"overall: {'PASS' if passed else 'FAIL'}")
    return passed


def _row(result: Result, reference: Result | None, initial_rows: int, rows: int) -> str:
    label = f"{result.tool.label[:29]:30}{result.mode:7}|"
    if result.unavailable is not None:
        return f"{label} not available: {result.unavailable}"
    ref_initial = reference.initial if reference else None
    ref_incremental = reference.incremental if reference else None
    initial = _cells(result.initial, ref_initial, initial_rows)
    incremental = _cells(result.incremental, ref_incremental, rows)
    read = _source_bytes(result)
    read_cell = f"{read / MIB:8.1f}" if read is not None else f"{'-':>8}"
    verdict = "yes" if result.wrong is None else "WRONG"
    return f"{label}{initial} |{incremental}{read_cell} | {verdict}"


def _cells(run: ChildRun | None, reference: ChildRun | None, rows: int) -> str:
    if run is None:
        return f"{'-':>8}{'-':>11}{'-':>8}{'-':>8}"
    rate = f"{rows / run.wall_s:11,.0f}" if run.wall_s > 0 else f"{'-':>11}"
    peak = f"{run.peak_rss / MIB:8.0f}" if run.peak_rss else f"{'-':>8}"
    ratio = (
        f"{run.wall_s / reference.wall_s:7.2f}x"
        if reference is not None and reference.ok and reference.wall_s > 0
        else f"{'-':>8}"
    )
    return f"{run.wall_s:8.2f}{rate}{peak}{ratio}"


def _targets(by_key: dict[tuple[str, str], Result], mode: str, model_bytes: int | None) -> bool:
    """Print the targets of one mode; return False when one was measured and missed."""
    reference = _correct_incremental(by_key.get((REFERENCE, mode)))
    passed = True
    if reference is None:
        _target(f"{mode}: Syncline local planner's incremental run", "not measured", None)
        return by_key.get((REFERENCE, mode)) is None

    competitors = [
        (key, run)
        for key in COMPETITORS
        if (run := _correct_incremental(by_key.get((key, mode)))) is not None
    ]
    if competitors:
        key, fastest = min(competitors, key=lambda item: item[1].wall_s)
        speedup = fastest.wall_s / reference.wall_s
        ok = speedup >= MIN_SPEEDUP_OVER_COMPETITORS
        passed &= _target(
            f"{mode}: incremental, {key} (faster correct competitor) / Syncline",
            f"{speedup:.1f}x, want >= {MIN_SPEEDUP_OVER_COMPETITORS:g}x",
            ok,
        )
    else:
        _target(f"{mode}: incremental vs drt and dlt", "no correct competitor ran", None)

    floor = _correct_incremental(by_key.get((FLOOR, mode)))
    if floor is not None:
        own = reference.run_s if reference.run_s is not None else reference.wall_s
        ratio = own / floor.wall_s
        passed &= _target(
            f"{mode}: incremental, Syncline's run itself / floor",
            f"{ratio:.2f}x, want <= {MAX_OVER_FLOOR:g}x "
            f"(whole process {reference.wall_s / floor.wall_s:.2f}x)",
            ratio <= MAX_OVER_FLOOR,
        )

    warehouse = by_key.get((WAREHOUSE, mode))
    label = f"{mode}: warehouse planner's incremental run, bytes moved / model"
    if warehouse is not None and warehouse.unavailable is not None:
        _target(label, "not available", None)
    elif warehouse is not None:
        moved = _source_bytes(warehouse)
        if moved is None:
            passed &= _target(label, "not measured", False)
        elif not model_bytes:
            _target(label, "model size not measured (run the floor too)", None)
        else:
            share = moved / model_bytes
            passed &= _target(
                label,
                f"{moved / MIB:.2f} MB / {_mib(model_bytes)} = {share:.1%}, "
                f"want <= {MAX_WAREHOUSE_MOVED_SHARE:.0%}",
                share <= MAX_WAREHOUSE_MOVED_SHARE,
            )
    return passed


def _source_bytes(result: Result) -> int | None:
    """Bytes the source sent to the tool's incremental run, when counted and correct."""
    measured = result.counted if result.counted is not None else result
    run = _correct_incremental(measured)
    return run.source_bytes if run is not None else None


def _model_bytes(results: list[Result]) -> int | None:
    """The size of the model's binary COPY stream, as the floor's initial load read it."""
    for result in results:
        if result.tool.key == FLOOR and result.initial is not None and result.initial.ok:
            return result.initial.source_bytes
    return None


def _mib(size: int | None) -> str:
    return "-" if size is None else f"{size / MIB:,.1f} MB"


def _correct_incremental(result: Result | None) -> ChildRun | None:
    if result is None or result.unavailable is not None or result.wrong is not None:
        return None
    return result.incremental


def _target(label: str, value: str, ok: bool | None) -> bool:
    verdict = "n/a" if ok is None else ("PASS" if ok else "FAIL")
    print(f"{label:62} {value:52} {verdict}")
    return ok is not False
