"""The job filter language: what each form selects (in SQL and in Python alike), and its error messages."""

from __future__ import annotations

import functools

import pytest

from xpm_core.jobfilter import FilterError, matches, parse_filter, to_sql, unfinished_sql
from xpm_core.workspace.index import WorkspaceIndex
from xpm_core.workspace.records import JobSubmission

# name -> (state, tags): the jobs of the index every test filters
JOBS = {
    "a": ("done", {"model": "bm25", "lr": 0.01, "seed": 1, "mode": "full"}),
    "b": ("done", {"model": "bm25", "lr": 0.001, "seed": 2, "mode": "debug"}),
    "c": ("error", {"model": "splade", "lr": 0.01, "seed": 1}),
    "d": ("running", {"model": "splade", "lr": "0.1", "seed": 2, "flag": True}),
    "e": ("waiting", {"model": "colbert", "lr": 1, "note": "a b"}),
    "f": ("done", {}),
}
TASKS = {"a": "pkg.tasks.Learn", "b": "pkg.tasks.Learn", "c": "pkg.tasks.Learn", "d": "pkg.eval.Score",
         "e": "pkg.eval.Score", "f": "pkg.other.Clean"}


def job_id(name: str) -> str:
    return name * 64


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory):
    workspace = tmp_path_factory.mktemp("filter-ws")
    index = WorkspaceIndex(workspace)
    index.record_jobs_submitted("xp", "run1", [
        JobSubmission(job_id=job_id(name), task_id=TASKS[name], path=workspace / "jobs" / TASKS[name] / job_id(name),
                      tags=tags, submitted_time=float(position))
        for position, (name, (_, tags)) in enumerate(JOBS.items())
    ])
    for name, (state, _) in JOBS.items():
        index.record_job_state(job_id(name), state)
    yield index
    index.close()


def selected(index: WorkspaceIndex, text: str) -> set[str]:
    """The jobs ``text`` selects; SQL and Python must agree on them."""
    expression = parse_filter(text)
    condition, params = to_sql(expression)
    by_sql = {job.job_id[0] for job in index.jobs_where(condition, params,
                                                          recheck=functools.partial(matches, expression))}
    by_python = {job.job_id[0] for job in index.jobs_where() if matches(expression, job)}
    assert by_sql == by_python, f"SQL and Python disagree on {text!r}"
    # what `xpm jobs list` reads: the same jobs, in the same states, re-reading the markers of
    # every unfinished job or only of those unfinished_sql keeps
    recheck = functools.partial(matches, expression)
    records = index.jobs_where(condition, params, recheck=recheck)
    for recheck_condition in (None, unfinished_sql(expression)):
        lines = index.job_lines(condition, params, recheck=recheck, recheck_condition=recheck_condition)
        assert [(line.job_id, line.state) for line in lines] == [(record.job_id, record.state) for record in records]
    return by_sql


@pytest.mark.parametrize("text, expected", [
    # states, case-insensitive
    ('@state = "DONE"', "abf"),
    ('@state = "done"', "abf"),
    ('@state = "Running"', "d"),
    ('@state != "done"', "cde"),
    ('@state in ["ERROR", "waiting"]', "ce"),
    ('@state not in ["done"]', "cde"),
    ('@state ~ "^RUN"', "d"),
    # the task id
    ('@name = "pkg.eval.Score"', "de"),
    ('@name ~ "tasks"', "abc"),
    ('@name ~ "^pkg\\.(eval|other)\\."', "def"),
    # tags: strings
    ('model = "bm25"', "ab"),
    ("model = 'bm25'", "ab"),
    ('model != "bm25"', "cdef"),  # a job without the tag is not equal to it
    ('model in ["bm25", "splade"]', "abcd"),
    ('mode not in ["debug", "test"]', "acdef"),
    ('model ~ "^s"', "cd"),
    ('model ~ "5"', "ab"),  # a search, not a match from the start
    ('note = "a b"', "e"),
    ('flag = "true"', "d"),
    # tags: numbers, and numeric strings
    ("lr = 0.01", "ac"),
    ('lr = "0.01"', "ac"),
    ('lr = "1e-2"', "ac"),
    ("lr = 0.1", "d"),  # the tag is the string "0.1"
    ("lr = 1", "e"),
    ("lr = 1.0", "e"),
    ("seed = 2", "bd"),
    ("lr < 0.01", "b"),
    ("lr <= 0.01", "abc"),
    ("lr > 0.01", "e"),  # numeric comparisons read numeric tags only, not the string "0.1"
    ('lr >= "0.01"', "ace"),
    ("seed > -1", "abcd"),
    ("missing = 1", ""),
    ("missing != 1", "abcdef"),
])
def test_each_form_selects(index: WorkspaceIndex, text: str, expected: str) -> None:
    assert selected(index, text) == set(expected)


@pytest.mark.parametrize("text, expected", [
    # not > and > or
    ('model = "bm25" or model = "splade" and seed = 1', "abc"),
    ('(model = "bm25" or model = "splade") and seed = 1', "ac"),
    ('seed = 1 and model = "bm25" or model = "colbert"', "ae"),
    ('seed = 1 and (model = "bm25" or model = "colbert")', "a"),
    ('not model = "bm25" and seed = 2', "d"),
    ('not (model = "bm25" and seed = 2)', "acdef"),
    ('not not @state = "done"', "abf"),
    ('@state = "done" or @state = "error" and model = "bm25"', "abf"),
    ('@state = "ERROR" and model = "splade" or @state = "RUNNING"', "cd"),
    ('model = "bm25" AND seed = 2 OR NOT lr < 1', "bdef"),  # f has no lr
])
def test_precedence_and_grouping(index: WorkspaceIndex, text: str, expected: str) -> None:
    assert selected(index, text) == set(expected)


def test_a_job_finished_since_the_index_heard_of_it_is_filtered_by_its_marker(tmp_path) -> None:
    index = WorkspaceIndex(tmp_path)
    folder = tmp_path / "jobs" / "pkg.Task" / job_id("a")
    folder.mkdir(parents=True)
    index.record_job_submitted("xp", "run1", JobSubmission(job_id=job_id("a"), task_id="pkg.Task", path=folder))
    index.record_job_state(job_id("a"), "running")
    (folder / "Task.done").touch()  # the job ended; its driver never told the index
    try:
        # listing, before anything wrote the marker's state back to the index
        assert [line.state.value for line in index.job_lines()] == ["done"]
        index.record_job_state(job_id("a"), "running")
        assert selected(index, '@state = "DONE"') == {"a"}
        index.record_job_state(job_id("a"), "running")
        assert selected(index, '@state = "RUNNING"') == set()
    finally:
        index.close()


def error_of(text: str) -> FilterError:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    return caught.value


@pytest.mark.parametrize("text, column, reason", [
    ('model = ', 9, 'expected a quoted string or a number after "="'),
    ('model "bm25"', 7, 'expected an operator (=, !=, ~, <, <=, >, >=), "in" or "not in" after "model"'),
    ('model = "bm25" andd x = 1', 16, 'expected "and", "or" or the end of the filter after "bm25"'),
    ('(a = 1 or b = 2', 16, 'expected ")", "and" or "or" after "2"'),
    ('a in [1 2]', 9, 'expected "," or "]" after "1"'),
    ('a = 1 and', 10, 'expected a tag name, @state or @name, "not" or "(" after "and"'),
    ('a == 1', 4, 'expected a quoted string or a number after "="'),
    ('@state = RUNNING', 10, 'expected a quoted string or a number after "=" (a word is a value only in quotes: "RUNNING")'),
    ('@state = "finished"', 10, "unknown job state 'finished'; expected one of UNSCHEDULED, WAITING, READY, SCHEDULED, RUNNING, DONE, ERROR"),
    ('@status = "done"', 1, "unknown variable @status: use @state, @name, or a tag name (without @)"),
    ('@state < 2', 1, "@state cannot be compared with <: use =, !=, ~, in or not in"),
    ('lr < "high"', 6, "< compares numbers, and 'high' is not one"),
    ('model ~ "(bm"', 9, "invalid regular expression '(bm': missing ), unterminated subpattern at position 0"),
    ('model ~ 25', 9, "'~' takes a regular expression in quotes, e.g. ~ \"^bm\""),
    ('model in []', 10, "an empty list matches nothing; give at least one value"),
])
def test_an_error_names_the_column_and_what_was_expected(text: str, column: int, reason: str) -> None:
    error = error_of(text)
    assert (error.column, error.reason) == (column, reason)
    # the message shows the filter with a caret under that column
    headline, shown, caret = str(error).split("\n")
    assert headline == f"invalid filter at column {column}: {reason}"
    assert shown == f"  {text}"
    assert caret == " " * (column + 1) + "^"


def test_an_empty_filter_says_what_to_write() -> None:
    assert str(error_of("  ")) == 'invalid filter: the filter is empty; write e.g. @state = "DONE"'


def test_values_are_parameters_never_sql_text() -> None:
    condition, params = to_sql(parse_filter("""model = "x') OR 1=1 --" """))
    assert "OR 1=1" not in condition
    assert params == ["model", "x') OR 1=1 --"]


def test_quotes_and_backslashes_in_strings() -> None:
    assert to_sql(parse_filter(r'note = "say \"hi\""'))[1] == ["note", 'say "hi"']
    # other backslashes stay, so that regular expressions read as written
    assert to_sql(parse_filter(r'note ~ "\d+\.\d"'))[1] == ["note", r"\d+\.\d"]


def test_a_job_no_run_lists_has_no_tags(tmp_path) -> None:
    # A job folder that no run's jobs.jsonl lists (copied in, or its run deleted): read by a rebuild.
    folder = tmp_path / "jobs" / "pkg.Task" / job_id("g")
    folder.mkdir(parents=True)
    (folder / "Task.done").touch()
    index = WorkspaceIndex(tmp_path)
    try:
        assert selected(index, 'model = "bm25"') == set()
        assert selected(index, 'model != "bm25"') == {"g"}
        assert selected(index, 'not (model = "bm25" or lr < 1)') == {"g"}
        assert selected(index, 'model not in ["bm25"] and @state = "DONE"') == {"g"}
        assert selected(index, 'not not model ~ "."') == set()
    finally:
        index.close()


def test_a_syntax_error_is_reported_before_what_a_value_means() -> None:
    # the bad value ("high" is not a number) comes once the syntax is right
    assert error_of('(model = "bm25" or lr < "high"').reason == 'expected ")", "and" or "or" after "high"'
    assert error_of('(model = "bm25" or lr < "high")').reason == "< compares numbers, and 'high' is not one"


@pytest.mark.parametrize("text, expected", [
    # the unfinished jobs are d (running, splade) and e (waiting, colbert); markers can only
    # make them done or error
    ('model = "bm25" and @state = "DONE"', ""),
    ('model = "splade" and @state = "DONE"', "d"),
    ('@state = "running"', "d"),
    ('@state = "waiting" and lr = 1', "e"),
    ('@state != "running"', "de"),
    ('not @state in ["done", "error"]', "de"),
    ('@state ~ "^(done|run)"', "de"),
    ('not (@state = "done" or @state = "error")', "de"),
])
def test_unfinished_jobs_reread_are_those_that_may_pass(index: WorkspaceIndex, text: str, expected: str) -> None:
    condition, params = unfinished_sql(parse_filter(text))
    unfinished = {job.job_id[0] for job in index.jobs_where(condition, params)} & {"d", "e"}
    assert unfinished == set(expected)


def test_a_filter_on_a_state_the_markers_give(tmp_path) -> None:
    index = WorkspaceIndex(tmp_path)
    try:
        for name, marker in (("a", "Task.done"), ("b", None)):
            folder = tmp_path / "jobs" / "pkg.Task" / job_id(name)
            folder.mkdir(parents=True)
            if marker:
                (folder / marker).touch()
            index.record_job_submitted("xp", "run1", JobSubmission(job_id=job_id(name), task_id="pkg.Task",
                                                                   path=folder, tags={"model": "bm25"}))
            index.record_job_state(job_id(name), "waiting")
        expression = parse_filter('model = "bm25" and @state = "DONE"')
        condition, params = to_sql(expression)
        lines = index.job_lines(condition, params, recheck=functools.partial(matches, expression),
                                recheck_condition=unfinished_sql(expression))
        assert [(line.job_id[0], line.state.value) for line in lines] == [("a", "done")]
    finally:
        index.close()
