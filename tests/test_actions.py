"""Actions (experimaestro D9): registered by a real plan, recorded with its run, listed and executed
afterwards by ``xpm experiments actions list/run``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click.testing
import pytest
from cli_support import xpm

from xpm_core import Action, CLIInteraction, Config, Param, Task, experiment, load_xp_info
from xpm_core.actions import InteractionError

PLAN = '''
"""A plan whose training registers an export action (in __submit__), plus one added by the plan."""
import sys
from xpm_core import Config, Param, Task, experiment, Action, Interaction


class Model(Config):
    name: Param[str]


class Export(Action):
    model: Param[Model]

    def describe(self):
        return f"Export {self.model.name}"

    def execute(self, interaction: Interaction):
        target = interaction.choice("target", "Export to:", ["hub", "local"])
        private = interaction.checkbox("private", "Private repository?")
        name = interaction.text("name", "Name:", default="my-model")
        print(f"EXPORTING {self.model.name} to {target} private={private} name={name}")


class Publish(Action):
    def describe(self):
        return "Publish the results table"

    def execute(self, interaction: Interaction):
        raise RuntimeError("the table server is down")


class Train(Task):
    model: Param[Model]

    def __submit__(self, dep, add_action, **kwargs):
        add_action(Export.C(model=self.model))
        return self

    def execute(self):
        print("trained", self.model.name)


if __name__ == "__main__":
    with experiment(sys.argv[1], "exports") as xp:
        model = Model.C(name="bert")
        Train.C(model=model).submit()
        print("PUBLISH", xp.add_action(Publish.C()))
'''


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after the plan ``exports`` (two actions recorded)."""
    folder = tmp_path_factory.mktemp("actions")
    (folder / "plan.py").write_text(PLAN)
    workspace = folder / "workspace"
    result = subprocess.run([sys.executable, str(folder / "plan.py"), str(workspace)], capture_output=True,
                            text=True, cwd=folder, timeout=120)
    assert result.returncode == 0, result.stderr
    return workspace


def _actions(workspace: Path) -> dict[str, str]:
    """description -> action id, from status.json."""
    status = json.loads((workspace / "experiments" / "exports" / "current" / "status.json").read_text())
    return {record["description"]: action_id for action_id, record in status["actions"].items()}


def test_a_run_records_its_actions_and_load_xp_info_returns_them(exported: Path) -> None:
    run_dir = exported / "experiments" / "exports" / "current"
    actions = _actions(exported)
    assert set(actions) == {"Export bert", "Publish the results table"}
    status = json.loads((run_dir / "status.json").read_text())
    assert status["actions"][actions["Export bert"]]["class"] == "__main__.Export"

    info = load_xp_info(run_dir)
    assert set(info.actions) == set(actions.values())
    (job,) = info.jobs.values()
    export = info.actions[actions["Export bert"]]
    assert export.model is job.model  # one object shared by the job and the action, as in the plan


def test_actions_list_shows_ids_and_descriptions(exported: Path) -> None:
    result = xpm("experiments", "actions", "list", "exports", "--workdir", str(exported))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split("  ")[1] for line in lines] == ["Export bert", "Publish the results table"]
    assert lines[0].split()[0] == _actions(exported)["Export bert"][:12]


def test_actions_run_takes_its_answers_from_set(exported: Path) -> None:
    action_id = _actions(exported)["Export bert"][:8]  # a prefix is enough
    result = xpm("experiments", "--workdir", str(exported), "actions", "run", "exports", action_id,
                 "--set", "target=local", "--set", "private=yes", "--set", "name=mine")
    assert result.returncode == 0, result.stderr
    assert "EXPORTING bert to local private=True name=mine" in result.stdout


def test_a_question_without_an_answer_and_without_a_terminal_is_a_usage_error(exported: Path) -> None:
    action_id = _actions(exported)["Export bert"]
    result = xpm("experiments", "actions", "run", "exports", action_id, "--set", "target=hub",
                 "--workdir", str(exported))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "'private'" in result.stderr and "--set private=true|false" in result.stderr
    assert "EXPORTING" not in result.stdout


def test_actions_run_refuses_bad_answers_unknown_ids_and_failing_actions(exported: Path) -> None:
    actions = _actions(exported)
    workdir = ("--workdir", str(exported))
    wrong = xpm("experiments", "actions", "run", "exports", actions["Export bert"], "--set", "target=s3", *workdir)
    assert wrong.returncode == 2 and "not in choices: hub, local" in wrong.stderr
    malformed = xpm("experiments", "actions", "run", "exports", actions["Export bert"], "--set", "target", *workdir)
    assert malformed.returncode == 2 and "is not KEY=VALUE" in malformed.stderr
    unknown = xpm("experiments", "actions", "run", "exports", "ffff", *workdir)
    assert unknown.returncode == 2 and "has no action 'ffff'" in unknown.stderr
    failing = xpm("experiments", "actions", "run", "exports", actions["Publish the results table"], *workdir)
    assert failing.returncode == 1 and "RuntimeError: the table server is down" in failing.stderr
    assert "Traceback" not in failing.stderr + wrong.stderr + unknown.stderr


def test_cli_interaction_prompts_on_a_terminal_and_reads_prefilled_answers() -> None:
    interaction = CLIInteraction({"target": "hub"}, interactive=True)
    with click.testing.CliRunner().isolation(input="2\nn\nmy-name\n") as (output, *_rest):
        assert interaction.choice("target", "Export to:", ["hub", "local"]) == "hub"  # prefilled: not asked
        assert interaction.choice("where", "Where?", ["a", "b"]) == "b"  # answered by number
        assert interaction.checkbox("private", "Private?", default=True) is False
        assert interaction.text("name", "Name:") == "my-name"
    assert b"1) a" in output.getvalue() and b"--set where=..." in output.getvalue()
    assert interaction.asked == ["target", "where", "private", "name"]
    for word, value in (("Yes", True), ("1", True), ("off", False), ("NO", False)):
        assert CLIInteraction({"flag": word}).checkbox("flag", "Flag?") is value
    with pytest.raises(InteractionError, match="not a valid boolean"):
        CLIInteraction({"flag": "maybe"}).checkbox("flag", "Flag?")
    with pytest.raises(InteractionError, match="--set name=..."):
        CLIInteraction(interactive=False).text("name", "Name:")


class Shared(Config):
    value: Param[str]


class Note(Action):
    shared: Param[Shared]

    def describe(self) -> str:
        return f"note {self.shared.value}"


class WithAction(Task):
    shared: Param[Shared]

    def __submit__(self, dep, add_action, **kwargs):  # type: ignore[no-untyped-def]
        add_action(Note.C(shared=self.shared))
        return self

    def execute(self) -> None:
        pass


def test_add_action_in_dry_run_and_refusals(tmp_path: Path) -> None:
    with experiment(tmp_path, "dry", run_mode="dry-run") as xp:
        WithAction.C(shared=Shared.C(value="v")).submit()
        (action,) = xp.actions.values()
        assert action.describe() == "note v"
        with pytest.raises(TypeError, match="takes an Action configuration"):
            xp.add_action(Shared.C(value="x"))
    assert not (tmp_path / "experiments").exists()  # a dry run writes nothing


def test_a_run_must_exist(exported: Path) -> None:
    result = xpm("experiments", "actions", "list", "exports", "--run", "19990101_000000", "--workdir", str(exported))
    assert result.returncode == 2 and "has no run '19990101_000000' (runs: " in result.stderr
    run_id = (exported / "experiments" / "exports" / "current").resolve().name
    listed = xpm("experiments", "actions", "list", "exports", "--run", run_id, "--workdir", str(exported))
    assert listed.returncode == 0 and "Export bert" in listed.stdout


def test_the_workspace_api_lists_the_actions_with_the_command_that_runs_them(exported: Path) -> None:
    import shlex

    from xpm_core.plugin import WorkspaceAPI, WorkspaceAPIError

    actions = _actions(exported)
    with WorkspaceAPI(exported) as api:
        rows = api.actions("exports")
        assert [(row["id"], row["description"], row["class"]) for row in rows] == [
            (actions["Export bert"], "Export bert", "__main__.Export"),
            (actions["Publish the results table"], "Publish the results table", "__main__.Publish"),
        ]
        run_id = (exported / "experiments" / "exports" / "current").resolve().name
        assert [row["id"] for row in api.actions("exports", run_id)] == [row["id"] for row in rows]
        assert f"--run {run_id}" in api.actions("exports", run_id)[0]["command"]
        with pytest.raises(WorkspaceAPIError, match="has no run '19990101_000000'"):
            api.actions("exports", "19990101_000000")
        with pytest.raises(WorkspaceAPIError, match="no experiment 'nope'"):
            api.actions("nope")

    # The command a monitor shows is the one that runs the action.
    words = shlex.split(rows[0]["command"])
    assert words[:4] == ["xpm", "experiments", "actions", "run"]
    result = xpm(*words[1:], "--set", "target=hub", "--set", "private=no", "--set", "name=shown")
    assert result.returncode == 0, result.stderr
    assert "EXPORTING bert to hub private=False name=shown" in result.stdout
