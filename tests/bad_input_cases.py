"""Malformed inputs across the CLI, YAML files, settings files and the Python API, and how to judge a refusal.

Each case says what is given and what a clear refusal looks like (exit code, a fragment of the
one-line message). :func:`judge` runs a case in-process and classifies what happened: "clear"
(the expected refusal, one line, nothing written), "unclear" (refused, but not as it should be:
another exit code, several lines, the generic ``xpm: error: <ExceptionType>`` fallback),
"accepted" (exit code 0) or "crash" (an exception escaped). ``tests/test_bad_inputs.py`` asserts
every case is clear; ``benchmarks/bad_inputs_report.py`` prints the counts.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import textwrap
from pathlib import Path
from typing import Any, Callable, Optional

import attrs

TASKS = '''
from xpm_core import Task, Param


class Train(Task):
    learning_rate: Param[float]

    def execute(self):
        pass
'''

PLAN = '''
from xpm_core.experiments import ConfigurationBase, ExperimentHelper, configuration
from badinput_tasks import Train


@configuration()
class Model:
    size: int = 1


@configuration()
class Configuration(ConfigurationBase):
    learning_rate: float = 0.1
    model: Model = Model()


def run(helper: ExperimentHelper, cfg: Configuration):
    Train.C(learning_rate=cfg.learning_rate).submit()
'''

#: The generic fallback of ``xpm``'s entry point: no input of the suite may reach it.
GENERIC_FALLBACK = re.compile(r"^xpm: error: [A-Z]\w*(Error|Exception|Exit)\b")
LONG = "x" * 300
LONG_UTF8 = "é" * 200  # 400 bytes


@attrs.frozen
class Case:
    """One malformed input."""

    id: str
    #: ``xpm`` arguments; ``{ws}`` and ``{case}`` are replaced by the workspace and case folder.
    argv: tuple[str, ...] = ()
    #: Files written in the case folder before running (name -> text).
    files: tuple[tuple[str, str], ...] = ()
    #: settings.yaml content for this case (None: no settings file).
    settings: Optional[str] = None
    code: int = 2
    fragment: str = ""
    #: A Python API call instead of a command: receives the workspace, must raise.
    call: Optional[Callable[[Path], Any]] = None
    error: type = ValueError


def _yaml(name: str, text: str) -> tuple[str, str]:
    return (name, textwrap.dedent(text).lstrip())


def _run(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return ("run-experiment", "xp.yaml", "--workdir", "{ws}", *extra)


# ---- names that become paths -----------------------------------------------------------------

BAD_NAMES: list[tuple[str, str, str]] = [
    ("empty", "", "it is empty"),
    ("dot", ".", "names a directory itself"),
    ("dotdot", "..", "names a directory itself"),
    ("slash", "a/b", "path separator '/'"),
    ("traversal", "../outside", "path separator '/'"),
    ("absolute", "/tmp/abs", "path separator '/'"),
    ("backslash", "a\\b", "path separator '\\\\'"),
    ("nul", "a\x00b", "control character"),
    ("tab", "a\tb", "control character"),
    ("newline", "a\nb", "control character"),
    ("delete", "a\x7fb", "control character"),
    ("too_long", LONG, "more than the 255"),
    ("too_long_utf8", LONG_UTF8, "more than the 255"),
]


def _yaml_string(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string is a YAML double-quoted string


def _name_cases() -> list[Case]:
    cases = []
    for key, name, fragment in BAD_NAMES:
        cases.append(Case(f"yaml-id-{key}", _run(), (("xp.yaml", f"id: {_yaml_string(name)}\n"),),
                          fragment=fragment))
        if "\x00" not in name:  # a NUL cannot be passed in a command line argument
            cases.append(Case(f"c-id-{key}", _run(extra=("-c", f"id={_yaml_string(name)}")),
                              (("xp.yaml", "id: fine\n"),), fragment=fragment))
            cases.append(Case(f"copy-id-{key}", ("experiments", "copy", name, "--from-workdir", "{ws}",
                                                  "--to-workdir", "{case}/dest"), fragment=fragment))
            cases.append(Case(f"jobs-experiment-{key}", ("jobs", "list", "--workdir", "{ws}", "--experiment", name),
                              fragment=fragment))
        cases.append(Case(f"api-experiment-{key}", call=_api_experiment(name), fragment=fragment))
        if "\x00" not in name:
            for command in ("history", "history-prune", "tags", "log"):
                cases.append(Case(f"{command}-id-{key}", ("experiments", command, name, "--workdir", "{ws}"),
                                  fragment=fragment))
    for key, name, fragment in BAD_NAMES[2:8]:
        if "\x00" in name:
            continue
        cases.append(Case(f"copy-run-{key}", ("experiments", "copy", "grid", name, "--from-workdir", "{ws}",
                                              "--to-workdir", "{case}/dest"), fragment=fragment))
        cases.append(Case(f"jobs-log-{key}", ("jobs", "log", f"tasks.x/{name}", "--workdir", "{ws}"),
                          fragment=fragment))
        cases.append(Case(f"driver-log-run-{key}", ("experiments", "log", "grid", name, "--workdir", "{ws}"),
                          fragment=fragment))
        cases.append(Case(f"api-save-{key}", call=_api_save(name), fragment=fragment))
        cases.append(Case(f"api-load-{key}", call=_api_load(name), fragment=fragment))
        cases.append(Case(f"api-token-{key}", call=_api_token(name), fragment=fragment))
    return cases


def _api_experiment(name: str) -> Callable[[Path], Any]:
    def call(workspace: Path) -> Any:
        from xpm_core import experiment

        with experiment(workspace, name):
            pass

    return call


def _generate_only(workspace: Path) -> Any:
    from xpm_core import experiment

    return experiment(workspace, "api", run_mode="generate")


def _api_save(name: str) -> Callable[[Path], Any]:
    return lambda workspace: _generate_only(workspace).save({}, name)


def _api_load(name: str) -> Callable[[Path], Any]:
    return lambda workspace: _generate_only(workspace).load(name)


def _api_token(name: str) -> Callable[[Path], Any]:
    return lambda workspace: _generate_only(workspace).token(name, 1)


# ---- YAML files ------------------------------------------------------------------------------

YAML_CASES = [
    Case("yaml-duplicate-top", _run(), (_yaml("xp.yaml", "id: a\nlearning_rate: 1\nlearning_rate: 2\n"),),
         fragment="duplicate key 'learning_rate': first at line 2, again at line 3"),
    Case("yaml-duplicate-nested", _run(), (_yaml("xp.yaml", "id: a\nmodel:\n  size: 1\n  size: 2\n"),),
         fragment="duplicate key 'size': first at line 3, again at line 4"),
    Case("yaml-duplicate-flow", _run(), (_yaml("xp.yaml", "id: a\nmodel: {size: 1, size: 2}\n"),),
         fragment="duplicate key 'size'"),
    Case("yaml-duplicate-in-import", _run(), (_yaml("base.yaml", "id: a\nid: b\n"),
                                              _yaml("xp.yaml", "imports: [base.yaml]\n")),
         fragment="base.yaml:2:1: invalid YAML: duplicate key 'id'"),
    Case("yaml-recursive-list", _run(), (_yaml("xp.yaml", "id: a\nx: &loop [1, *loop]\n"),),
         fragment="refers to its own anchor"),
    Case("yaml-recursive-map", _run(), (_yaml("xp.yaml", "id: a\nmodel: &m {size: *m}\n"),),
         fragment="refers to its own anchor"),
    Case("yaml-deep", _run(), (("xp.yaml", "id: a\nx: " + "[" * 150 + "]" * 150 + "\n"),),
         fragment="nested more than 100 levels deep"),
    Case("yaml-alias-bomb", _run(), (("xp.yaml", "id: a\nb: &b [1]\nx: [" + ", ".join(["*b"] * 1200) + "]\n"),),
         fragment="more than 1000 aliases"),
    Case("yaml-syntax-bracket", _run(), (_yaml("xp.yaml", "id: [a\n"),), fragment="xp.yaml:2:1: invalid YAML"),
    Case("yaml-syntax-indent", _run(), (_yaml("xp.yaml", "id: a\n  model: 1\n"),), fragment="xp.yaml:2:8: invalid YAML"),
    Case("yaml-syntax-tab", _run(), (("xp.yaml", "id: a\nmodel:\n\tsize: 1\n"),), fragment="xp.yaml:3:1: invalid YAML"),
    Case("yaml-list", _run(), (_yaml("xp.yaml", "- id: a\n"),), fragment="must be a mapping of keys to values"),
    Case("yaml-scalar", _run(), (_yaml("xp.yaml", "hello\n"),), fragment="must be a mapping of keys to values"),
    Case("yaml-empty", _run(), (("xp.yaml", ""),), fragment="id"),
    Case("yaml-unknown-key", _run(), (_yaml("xp.yaml", "id: a\nlearning_rat: 1\n"),), fragment="learning_rat"),
    Case("yaml-unknown-nested-key", _run(), (_yaml("xp.yaml", "id: a\nmodel: {sise: 1}\n"),), fragment="sise"),
    Case("yaml-wrong-type", _run(), (_yaml("xp.yaml", "id: a\nlearning_rate: fast\n"),), fragment="learning_rate"),
    Case("yaml-wrong-nested-type", _run(), (_yaml("xp.yaml", "id: a\nmodel: {size: [1]}\n"),), fragment="size"),
    Case("yaml-model-not-mapping", _run(), (_yaml("xp.yaml", "id: a\nmodel: 3\n"),), fragment="model"),
    Case("yaml-id-list", _run(), (_yaml("xp.yaml", "id: [a]\n"),), fragment="id"),
    Case("yaml-missing", ("run-experiment", "nothere.yaml", "--workdir", "{ws}"), fragment="does not exist"),
    Case("yaml-directory", ("run-experiment", "{case}", "--workdir", "{ws}"), fragment="is a directory"),
    Case("yaml-import-missing", _run(), (_yaml("xp.yaml", "id: a\nimports: [gone.yaml]\n"),),
         fragment="imports: "),
    Case("yaml-import-cycle", _run(), (_yaml("xp.yaml", "id: a\nimports: [b.yaml]\n"),
                                       _yaml("b.yaml", "imports: [xp.yaml]\n")), fragment="cycle"),
    Case("yaml-imports-not-list", _run(), (_yaml("xp.yaml", "id: a\nimports: b.yaml\n"),),
         fragment="imports: expected a list"),
    Case("yaml-pythonpath-not-list", _run(), (_yaml("xp.yaml", "id: a\npythonpath: src\n"),),
         fragment="pythonpath: expected a list"),
    Case("yaml-parent-and-imports", _run(), (_yaml("xp.yaml", "id: a\nparent: b.yaml\nimports: [b.yaml]\n"),
                                             _yaml("b.yaml", "x: 1\n")), fragment="cannot both be given"),
    Case("yaml-not-utf8", _run(), (("xp.yaml", "\udcff"),), fragment="cannot read"),
    Case("yaml-file-missing-plan", _run(), (_yaml("xp.yaml", "id: a\nfile: nothere.py\n"),),
         fragment="does not exist"),
    Case("yaml-module-and-file", _run(), (_yaml("xp.yaml", "id: a\nmodule: m\nfile: f\n"),),
         fragment="exclude each other"),
    Case("yaml-pre-missing", _run(extra=("--pre-yaml", "gone.yaml")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="--pre-yaml file"),
    Case("yaml-post-missing", _run(extra=("--post-yaml", "gone.yaml")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="--post-yaml file"),
    Case("yaml-post-duplicate", _run(extra=("--post-yaml", "post.yaml")),
         (_yaml("xp.yaml", "id: a\n"), _yaml("post.yaml", "x: 1\nx: 2\n")), fragment="duplicate key 'x'"),
]

# ---- -c overrides ----------------------------------------------------------------------------

OVERRIDE_CASES = [
    Case("c-no-equal", _run(extra=("-c", "learning_rate")), (_yaml("xp.yaml", "id: a\n"),), fragment="-c/--conf expects KEY=VALUE"),
    Case("c-empty-key", _run(extra=("-c", "=1")), (_yaml("xp.yaml", "id: a\n"),), fragment="-c/--conf expects KEY=VALUE"),
    Case("c-empty-part", _run(extra=("-c", "model..size=1")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="is not a dotted key"),
    Case("c-not-mapping", _run(extra=("-c", "learning_rate.x=1")), (_yaml("xp.yaml", "id: a\nlearning_rate: 1\n"),),
         fragment="is not a mapping"),
    Case("c-unknown-key", _run(extra=("-c", "learning_rat=1")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="-c learning_rat=1"),
    Case("c-wrong-type", _run(extra=("-c", "learning_rate=fast")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="-c learning_rate=fast"),
    Case("c-wrong-nested-type", _run(extra=("-c", "model.size=big")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="-c model.size=big"),
    Case("c-duplicate-flow", _run(extra=("-c", "model={size: 1, size: 2}")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="-c/--conf 'model={size: 1, size: 2}': duplicate key 'size'"),
    Case("c-recursive", _run(extra=("-c", "x=&a [*a]")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="refers to its own anchor"),
]

# ---- options ---------------------------------------------------------------------------------

OPTION_CASES = [
    Case("opt-run-mode", _run(extra=("--run-mode", "FAST")), (_yaml("xp.yaml", "id: a\n"),), fragment="--run-mode"),
    Case("opt-port-zero", _run(extra=("--port", "0")), (_yaml("xp.yaml", "id: a\n"),), fragment="--port"),
    Case("opt-port-high", _run(extra=("--port", "70000")), (_yaml("xp.yaml", "id: a\n"),), fragment="--port"),
    Case("opt-port-word", _run(extra=("--port", "web")), (_yaml("xp.yaml", "id: a\n"),), fragment="--port"),
    Case("opt-host-alone", _run(extra=("--host", "0.0.0.0")), (_yaml("xp.yaml", "id: a\n"),), fragment="--host"),
    Case("opt-config-dir", _run(extra=("--xpm-config-dir", "{case}/nothere")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="--xpm-config-dir"),
    Case("opt-env-one", ("run-experiment", "xp.yaml", "--workdir", "{ws}", "--env", "A"),
         (_yaml("xp.yaml", "id: a\n"),), fragment="--env"),
    Case("opt-unknown", _run(extra=("--colour",)), (_yaml("xp.yaml", "id: a\n"),), fragment="--colour"),
    Case("opt-file-missing", _run(extra=("--file", "gone.py")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="does not exist"),
    Case("opt-file-and-module", _run(extra=("--file", "x.py", "--module-name", "m")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="exclude each other"),
    Case("opt-module-missing", _run(extra=("--module-name", "no_such_module_xyz")), (_yaml("xp.yaml", "id: a\n"),),
         fragment="no module named"),
    Case("opt-count-zero", ("jobs", "list", "--workdir", "{ws}", "-c", "0"), fragment="-c"),
    Case("opt-count-word", ("jobs", "list", "--workdir", "{ws}", "-c", "many"), fragment="-c"),
    Case("opt-workdir-missing", ("jobs", "list", "--workdir", "{case}/nothere"), fragment="is not a workspace"),
    Case("opt-workdir-not-workspace", ("experiments", "list", "--workdir", "{case}"), fragment="is not a workspace"),
    Case("opt-workspace-unknown", ("jobs", "list", "--workspace", "nope"), fragment="no workspace 'nope'"),
    Case("opt-experiment-unknown", ("jobs", "list", "--workdir", "{ws}", "--experiment", "nope"),
         code=1, fragment="no experiment 'nope'"),
    Case("opt-log-unknown", ("jobs", "log", "abcdef", "--workdir", "{ws}"), code=1, fragment="abcdef"),
    Case("opt-unknown-command", ("jobz",), fragment="jobz"),
    Case("opt-unknown-subcommand", ("jobs", "lst"), fragment="lst"),
]

# ---- filters ---------------------------------------------------------------------------------

BAD_FILTERS = [
    ("unterminated", 'model = "bm25', "unterminated quoted string"),
    ("unterminated-single", "model = 'bm25", "unterminated quoted string"),
    ("unterminated-late", 'a = "x" and b = "y', "unterminated quoted string"),
    ("deep-parens", "(" * 200 + "a = 1" + ")" * 200, "nested more than 32 deep"),
    ("deep-not", "not " * 100 + "a = 1", "nested more than 32 deep"),
    ("too-long", "a = " + '"' + "x" * 20_000 + '"', "more than the 10000 allowed"),
    ("too-many", " or ".join(["a = 1"] * 600), "more than 500 comparisons"),
    ("huge-list", "a in [" + ", ".join(["1"] * 1500) + "]", "more than 1000 values"),
    ("huge-number", "lr < 1e400", "the number 1e400 is too large"),
    ("number-whole", "lr = 0.01 andd x", 'after "0.01"'),
    ("empty", " ", "the filter is empty"),
    ("typo-and", 'a = "x" andd b = "y"', 'expected "and", "or"'),
    ("bad-state", '@state = "finished"', "unknown job state 'finished'"),
    ("state-number", "@state = 3", "a job state is a quoted name"),
    ("bad-variable", '@owner = "me"', "unknown variable @owner"),
    ("bad-regex", 'a ~ "("', "invalid regular expression"),
    ("regex-number", "a ~ 3", "takes a regular expression in quotes"),
    ("compare-string", 'a < "x"', "compares numbers"),
    ("compare-state", '@state < 3', "cannot be compared"),
    ("empty-list", "a in []", "an empty list matches nothing"),
    ("open-list", "a in [1, 2", 'expected "," or "]"'),
    ("open-paren", '(a = "x"', 'expected ")", "and" or "or"'),
    ("close-paren", 'a = "x")', 'expected "and", "or" or the end'),
    ("bare-word", "a = bm25", "a word is a value only in quotes"),
    ("no-operator", "a", "an operator"),
    ("lonely-not", "not", "after \"not\""),
    ("operator-first", '= "x"', "expected a tag name"),
]


def _filter_cases() -> list[Case]:
    cases = []
    for key, text, fragment in BAD_FILTERS:
        cases.append(Case(f"filter-list-{key}", ("jobs", "list", "--workdir", "{ws}", "--filter", text),
                          fragment=fragment))
    for key, text, fragment in BAD_FILTERS[:6]:
        for command in ("kill", "clean"):
            cases.append(Case(f"filter-{command}-{key}", ("jobs", command, "--workdir", "{ws}", "--filter", text),
                              fragment=fragment))
    return cases


# ---- settings files --------------------------------------------------------------------------

BAD_SETTINGS = [
    ("syntax", "workspaces:\n  - id: main\n    path: [unclosed\n", "YAML syntax error"),
    ("duplicate", "workspaces:\n  - id: main\n    id: other\n    path: /tmp\n", "duplicate key 'id'"),
    ("recursive", "env: &e {A: *e}\n", "refers to its own anchor"),
    ("not-mapping", "- main\n", "the settings must be a mapping"),
    ("unknown-key", "workspaces:\n  - id: main\n    pathh: /tmp\n", "pathh: unknown key"),
    ("wrong-type", "workspaces:\n  - id: main\n    path: /tmp\n    max_retries: many\n", "max_retries"),
    ("negative", "workspaces:\n  - id: main\n    path: /tmp\n    max_retries: -1\n", "max_retries"),
    ("duplicate-ids", "workspaces:\n  - id: main\n    path: /a\n  - id: main\n    path: /b\n", "must be unique"),
    ("env-list", "env: [1]\n", "env"),
    ("launchers-list", "launchers: [direct]\n", "launchers"),
    ("not-utf8", "\udcff", "cannot read the settings file"),
]


def _settings_cases() -> list[Case]:
    cases = []
    for key, text, fragment in BAD_SETTINGS:
        for command in (("workspaces", "list"), ("experiments", "list", "--workspace", "main"),
                        ("run-experiment", "xp.yaml", "--workdir", "{ws}")):
            files = (_yaml("xp.yaml", "id: a\n"),) if command[0] == "run-experiment" else ()
            cases.append(Case(f"settings-{key}-{command[0]}", command, files, settings=text, fragment=fragment))
    cases.append(Case("settings-launcher-option", ("run-experiment", "xp.yaml", "--workdir", "{ws}"),
                      (_yaml("xp.yaml", "id: a\n"),), settings="launchers:\n  direct: {max_runing: 2}\n",
                      fragment="max_runing"))
    return cases


def all_cases() -> list[Case]:
    return [*_name_cases(), *YAML_CASES, *OVERRIDE_CASES, *OPTION_CASES, *_filter_cases(), *_settings_cases()]


# ---- running and judging ---------------------------------------------------------------------


@attrs.frozen
class Verdict:
    kind: str  # clear, unclear, accepted, crash
    detail: str


def write_workspace(folder: Path) -> Path:
    """A workspace with one experiment ("grid") known to the index, and no job."""
    (folder / "jobs").mkdir(parents=True, exist_ok=True)
    run = folder / "experiments" / "grid" / "20260101_000000"
    run.mkdir(parents=True, exist_ok=True)
    (run / "status.json").write_text('{"status": "done", "experiment_id": "grid", "run_id": "20260101_000000"}')
    (run / "jobs.jsonl").write_text("")
    from xpm_core.workspace.index import WorkspaceIndex

    WorkspaceIndex(folder).close()
    return folder


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folders`` with its size and modification time (what 'nothing written' compares)."""
    files = {}
    for folder in folders:
        for root, directories, names in os.walk(folder):
            directories[:] = [d for d in directories if d != "__pycache__"]
            for name in [*names, *directories]:
                path = Path(root) / name
                if name.startswith("index.db"):
                    continue  # reading opens the index (WAL files come and go): not a write by the input
                with contextlib.suppress(OSError):
                    stat = path.lstat()
                    files[str(path)] = (stat.st_size, stat.st_mtime_ns if path.is_file() else 0)
    return files


def _prepare(case: Case, case_dir: Path, config_dir: Path) -> None:
    case_dir.mkdir(parents=True, exist_ok=True)
    if case.call is None:
        # The plan (the default `file: experiment`) and its tasks, next to the YAML files.
        (case_dir / "experiment.py").write_text(PLAN)
        (case_dir / "badinput_tasks.py").write_text(TASKS)
    for name, text in case.files:
        data = text.encode("utf-8", "surrogateescape")
        (case_dir / name).write_bytes(data)
    settings = config_dir / "settings.yaml"
    if case.settings is None:
        settings.unlink(missing_ok=True)
    else:
        settings.write_bytes(case.settings.encode("utf-8", "surrogateescape"))


def run_case(case: Case, case_dir: Path, workspace: Path, config_dir: Path) -> tuple[int, str, str]:
    """Run ``case`` in-process: (exit code, stdout, stderr). Exceptions other than SystemExit escape."""
    from xpm_core.cli import main

    if case.call is not None:
        try:
            case.call(workspace)
        except case.error as error:
            return 2, "", f"{type(error).__name__}: {error}"
        return 0, "", ""
    argv = [arg.replace("{ws}", str(workspace)).replace("{case}", str(case_dir)) for arg in case.argv]
    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    os.chdir(case_dir)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(argv)
                code = 0
            except SystemExit as exit:
                code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    finally:
        os.chdir(previous)
    return code, out.getvalue(), err.getvalue()


def message_lines(stderr: str) -> list[str]:
    """The lines of an error message; a filter's echo and caret lines (indented) belong to its line."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    return [line for line in lines if not line.startswith("  ")]


def judge(case: Case, case_dir: Path, workspace: Path, config_dir: Path) -> Verdict:
    """Run ``case`` (its files written first) and classify what happened."""
    _prepare(case, case_dir, config_dir)
    before = snapshot(workspace, case_dir, config_dir)
    try:
        code, _, stderr = run_case(case, case_dir, workspace, config_dir)
    except BaseException as error:  # noqa: BLE001 - what escapes is exactly what is judged
        return Verdict("crash", f"{type(error).__name__}: {error}"[:300])
    written = sorted(set(snapshot(workspace, case_dir, config_dir).items()) - set(before.items()))
    if code == 0:
        return Verdict("accepted", f"exit 0; wrote {written[:3]}")
    lines = message_lines(stderr)
    problems = []
    if code != case.code:
        problems.append(f"exit {code}, expected {case.code}")
    if len(lines) != 1:
        problems.append(f"{len(lines)} message lines: {stderr[:300]!r}")
    if "Traceback" in stderr:
        problems.append("a traceback")
    if lines and GENERIC_FALLBACK.match(lines[0]) and case.call is None:
        problems.append(f"the generic fallback: {lines[0][:200]!r}")
    if case.fragment not in stderr:
        problems.append(f"{case.fragment!r} not in {stderr[:300]!r}")
    if written:
        problems.append(f"wrote {[path for path, _ in written][:3]}")
    return Verdict("unclear", "; ".join(problems)) if problems else Verdict("clear", lines[0][:200])
