"""A project in a non-default workspace: --workspace, SYNCLINE_WORKSPACE and the project's own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_harness import Invoke

from syncline.cli.exitcodes import ExitCode


@pytest.fixture
def trial(syncline: Invoke, workdir: Path) -> Path:
    """The sample project declaring ``workspace: trial``, applied."""
    assert syncline("init", "proj").code == ExitCode.OK
    settings = workdir / "proj" / "syncline.yml"
    settings.write_text(re.sub("workspace: .*", "workspace: trial", settings.read_text()))
    applied = syncline("apply", "--project", "proj")
    assert applied.code == ExitCode.OK, applied.err
    return workdir / "proj"


def test_commands_with_the_project_use_its_workspace(syncline: Invoke, trial: Path) -> None:
    ran = syncline("run", "customers-to-crm", "--project", str(trial))
    assert ran.code == ExitCode.OK, ran.err

    listed = syncline("syncs", "list", "--project", str(trial))
    assert "customers-to-crm" in listed.out
    assert "workspace trial" in listed.out
    history = syncline("runs", "customers-to-crm", "--project", str(trial))
    assert history.code == ExitCode.OK, history.err


def test_commands_inside_the_project_folder_use_its_workspace(
    syncline: Invoke, trial: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trial)

    ran = syncline("run", "customers-to-csv")

    assert ran.code == ExitCode.OK, ran.err
    assert "customers-to-csv" in syncline("syncs", "list").out


def test_the_workspace_option_and_setting_choose_the_workspace(
    syncline: Invoke, trial: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Outside the project folder, without a choice, the default workspace is empty.
    assert "No syncs in workspace 'default'" in syncline("syncs", "list").out

    ran = syncline("--workspace", "trial", "run", "customers-to-crm")
    assert ran.code == ExitCode.OK, ran.err

    monkeypatch.setenv("SYNCLINE_WORKSPACE", "trial")
    assert "customers-to-crm" in syncline("syncs", "list").out


def test_a_workspace_that_does_not_exist_lists_those_that_do(syncline: Invoke, trial: Path) -> None:
    result = syncline("--workspace", "trail", "run", "customers-to-crm")

    assert result.code == ExitCode.USER_ERROR
    assert "workspace 'trail' does not exist" in result.err
    assert "default, trial" in result.err


def test_a_named_workspace_other_than_the_projects_is_refused_by_apply(
    syncline: Invoke, trial: Path
) -> None:
    result = syncline("--workspace", "default", "apply", "--project", str(trial))

    assert result.code == ExitCode.USER_ERROR
    assert "--workspace names the workspace 'default'" in result.err
    assert "workspace: trial" in result.err


def test_a_project_folder_that_does_not_exist_is_an_error_not_the_default_workspace(
    syncline: Invoke, workdir: Path
) -> None:
    result = syncline("runs", "customers-to-crm", "--project", str(workdir / "nowhere"))

    assert result.code == ExitCode.USER_ERROR
    assert "nowhere does not exist" in result.err
    assert "default" not in result.err


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ("workspace: [a, b]\n", "workspace must be"),
        ('workspace: "  "\n', "workspace must be"),
        ("workspace: trial\n  bad: [\n", "not valid YAML"),
        ("workspace: ${SYNCLINE_TEST_UNSET_WORKSPACE}\n", "SYNCLINE_TEST_UNSET_WORKSPACE"),
    ],
    ids=["list", "blank", "yaml", "unset-variable"],
)
def test_a_settings_file_that_cannot_name_its_workspace_is_an_error(
    syncline: Invoke, trial: Path, settings: str, named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCLINE_TEST_UNSET_WORKSPACE", raising=False)
    (trial / "syncline.yml").write_text(settings, encoding="utf-8")

    result = syncline("syncs", "list", "--project", str(trial))

    assert result.code == ExitCode.USER_ERROR, result.out
    assert named in result.err
    assert "syncline.yml" in result.err


def test_projects_made_by_init_in_two_folders_keep_to_workspaces_of_their_own(
    syncline: Invoke, workdir: Path
) -> None:
    assert syncline("init", "Sales Ops").code == ExitCode.OK
    assert syncline("init", "finance").code == ExitCode.OK
    assert "workspace: sales-ops\n" in (workdir / "Sales Ops" / "syncline.yml").read_text()

    assert syncline("apply", "--project", "Sales Ops").code == ExitCode.OK
    applied = syncline("apply", "--project", "finance")

    assert applied.code == ExitCode.OK, applied.err
    assert "0 to change, 0 to delete" in applied.out, "nothing of the other project is taken"
    ran = syncline("run", "customers-to-crm", "--project", "finance")
    assert ran.code == ExitCode.OK, ran.err


def test_init_in_the_current_folder_names_the_workspace_after_it(
    syncline: Invoke, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workdir / "crm_sync").mkdir()
    monkeypatch.chdir(workdir / "crm_sync")

    created = syncline("init")

    assert created.code == ExitCode.OK
    assert "workspace: crm_sync\n" in (workdir / "crm_sync" / "syncline.yml").read_text()
    assert "workspace 'crm_sync'" in created.out


def test_init_quotes_a_workspace_yaml_would_read_as_a_number(
    syncline: Invoke, workdir: Path
) -> None:
    assert syncline("init", "123").code == ExitCode.OK
    assert 'workspace: "123"\n' in (workdir / "123" / "syncline.yml").read_text()

    validated = syncline("validate", "--project", "123")

    assert validated.code == ExitCode.OK, validated.err
    assert "(workspace '123')" in validated.out


def test_init_spells_a_folder_of_other_letters_in_ascii(syncline: Invoke, workdir: Path) -> None:
    assert syncline("init", "Ünïcødé Team").code == ExitCode.OK
    assert "workspace: unicde-team\n" in (workdir / "Ünïcødé Team" / "syncline.yml").read_text()


def test_init_in_a_folder_whose_name_gives_no_workspace_asks_for_one(
    syncline: Invoke, workdir: Path
) -> None:
    refused = syncline("init", "___")

    assert refused.code == ExitCode.USER_ERROR
    assert "'___' gives no workspace name" in refused.err
    assert "syncline init ___ --workspace NAME" in refused.err
    assert not (workdir / "___").exists()
