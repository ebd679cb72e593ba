"""A CDC reset's note says what it gave up, from the count its run keeps."""

from __future__ import annotations

from dataclasses import dataclass

from syncline.catalog.run_notes import reset_note


@dataclass
class Run:
    reset_cdc: bool = True
    dry_run: bool = False
    status: str = "success"
    rejected_given_up: int = 0


def test_a_reset_names_the_rejected_rows_it_gave_up() -> None:
    note = reset_note(Run(rejected_given_up=3))

    assert note is not None
    assert note.startswith("CDC reset: the model's current rows were taken as synced")
    assert "3 rejected rows of earlier runs are no longer retried" in note


def test_a_reset_that_gave_up_nothing_says_only_what_it_did() -> None:
    assert reset_note(Run()) == (
        "CDC reset: the model's current rows were taken as synced and nothing was sent"
    )


def test_a_dry_run_reset_says_what_a_real_one_would_give_up() -> None:
    note = reset_note(Run(dry_run=True, rejected_given_up=1))

    assert note is not None
    assert "1 rejected row of earlier runs would no longer be retried" in note


def test_other_runs_have_no_note() -> None:
    assert reset_note(Run(reset_cdc=False, rejected_given_up=2)) is None
    assert reset_note(Run(status="failed", rejected_given_up=2)) is None
