"""Times of day a DATE column would drop are found."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from syncline.connectors.destinations.sql.days import refuse_times_of_day


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        (
            pa.array(
                [
                    dt.datetime(2024, 1, 1),
                    dt.datetime(2024, 1, 1, 18, 30),
                    dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
                    dt.datetime(1960, 5, 1),
                    None,
                ],
                pa.timestamp("us"),
            ),
            [1, 2],
        ),
        # The UTC day and time of an instant, as every table session is in UTC.
        (
            pa.array(
                [dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 1, 12, 0)],
                pa.timestamp("ns", "America/New_York"),
            ),
            [1],
        ),
        (
            pa.array(
                ["2024-01-01", "2024-01-01 00:00:00.000", "2024-01-01T18:30", "2024-01-01 0:0:1"],
                pa.string(),
            ),
            [2, 3],
        ),
        (pa.array([2**63 - 1, -(2**63 - 1)], pa.timestamp("us")), []),
    ],
)
def test_values_whose_time_of_day_a_date_column_drops_are_refused(
    values: pa.Array, refused: list[int]
) -> None:
    reasons = refuse_times_of_day(pa.table({"d": values}), {"d": "date"}, "t")

    assert sorted(reasons) == refused
    assert all("column 'd' (date) of table t" in r for r in reasons.values())


def test_columns_other_than_dates_keep_their_times() -> None:
    values = pa.array([dt.datetime(2024, 1, 1, 18, 30)], pa.timestamp("us"))

    assert refuse_times_of_day(pa.table({"d": values}), {"d": "timestamp"}, "t") == {}
