"""A run's actions in the web monitor: listed by the JSON API and on the run page, each with the
command that runs it, for a workspace written by a real plan that registers actions."""

from __future__ import annotations

import html
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

TOKEN = "test-token-0123456789"
PLAN = '''
import sys
from xpm_core import Action, Interaction, Param, Task, experiment


class Export(Action):
    name: Param[str]

    def describe(self):
        return f"Export {self.name} <to the hub>"

    def execute(self, interaction: Interaction):
        target = interaction.choice("target", "Export to:", ["hub", "local"])
        print(f"EXPORTING {self.name} to {target}")


class Train(Task):
    name: Param[str]

    def __submit__(self, dep, add_action, **kwargs):
        add_action(Export.C(name=self.name))
        return self

    def execute(self):
        print("trained", self.name)


class Hello(Task):
    def execute(self):
        print("hello")


if __name__ == "__main__":
    with experiment(sys.argv[1], sys.argv[2]) as xp:
        if sys.argv[2] == "exports":
            Train.C(name="bert").submit()
        else:
            Hello.C().submit()  # no action
'''


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("web-actions")
    (folder / "plan.py").write_text(PLAN)
    workspace = folder / "workspace"
    for name in ("exports", "plain"):
        result = subprocess.run([sys.executable, str(folder / "plan.py"), str(workspace), name],
                                capture_output=True, text=True, cwd=folder, timeout=120)
        assert result.returncode == 0, result.stderr
    return workspace


@pytest.fixture
def client(workspace: Path) -> Iterator[Any]:
    from xpm_web.app import create_app

    app = create_app(workspace, token=TOKEN)
    test_client = app.test_client()
    test_client.set_cookie("xpm_web_token", TOKEN)
    yield test_client
    state = app.extensions["xpm_web"]
    state.changes.close()
    state.source.close()


def run_id(workspace: Path, experiment: str) -> str:
    return (workspace / "experiments" / experiment / "current").resolve().name


def test_the_api_lists_a_runs_actions_with_the_command_that_runs_them(client: Any, workspace: Path) -> None:
    answer = client.get("/api/experiments/exports/runs/latest/actions")
    assert answer.status_code == 200
    [action] = answer.get_json()["actions"]
    assert action["description"] == "Export bert <to the hub>" and action["class"] == "__main__.Export"
    assert len(action["id"]) == 64
    by_id = client.get(f"/api/experiments/exports/runs/{run_id(workspace, 'exports')}/actions").get_json()
    assert [row["id"] for row in by_id["actions"]] == [action["id"]]

    # The command shown is the one that runs it (here with its answer given in advance).
    words = shlex.split(by_id["actions"][0]["command"])
    result = subprocess.run([sys.executable, "-m", "xpm_core", *words[1:], "--set", "target=local"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "EXPORTING bert to local" in result.stdout

    assert client.get("/api/experiments/plain/runs/latest/actions").get_json() == {"actions": []}
    missing = client.get("/api/experiments/nope/runs/latest/actions")
    assert missing.status_code == 404 and "no experiment 'nope'" in missing.get_json()["error"]
    no_run = client.get("/api/experiments/exports/runs/19990101_000000/actions")
    assert no_run.status_code == 404 and "has no run '19990101_000000'" in no_run.get_json()["error"]


def test_the_run_page_has_an_actions_section_only_when_the_run_has_actions(client: Any, workspace: Path) -> None:
    run = run_id(workspace, "exports")
    # The page names its run: so does the command it shows.
    [action] = client.get(f"/api/experiments/exports/runs/{run}/actions").get_json()["actions"]
    assert action["command"].endswith(f"{action['id']} --run {run}")
    page = client.get(f"/experiments/exports/runs/{run}").get_data(as_text=True)
    assert '<section id="actions">' in page
    assert "Export bert &lt;to the hub&gt;" in page  # escaped, as everything the plan writes
    assert f'<code class="command">{html.escape(action["command"])}</code>' in page

    plain = client.get(f"/experiments/plain/runs/{run_id(workspace, 'plain')}").get_data(as_text=True)
    assert 'id="actions"' not in plain
    assert client.get("/experiments/exports/runs/19990101_000000").status_code == 200  # the script says it
