"""Tests of the benchmark runner, run as a subprocess the way users run it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
RUNNER = REPOSITORY / "benchmarks" / "run.py"
EXPERIMAESTRO_PYTHON = REPOSITORY / "benchmarks" / ".venv-experimaestro" / "bin" / "python"
STATUSES = {"ok", "failed", "unavailable"}


def run_benchmarks(*args: str) -> subprocess.CompletedProcess[str]:
    # The timeout only guards against a hung run; nothing here asserts on durations.
    return subprocess.run(
        [sys.executable, str(RUNNER), *args],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        timeout=600,
    )


def run_json(*args: str) -> dict[str, Any]:
    process = run_benchmarks(*args, "--json")
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def listed_sizes() -> dict[str, tuple[int, int]]:
    """Workload name -> (size, quick size), read from ``--list``."""
    process = run_benchmarks("--list")
    assert process.returncode == 0, process.stderr
    sizes = {}
    for line in process.stdout.splitlines()[1:]:
        name, size, quick_size = re.split(r"\s{2,}", line.strip())[:3]
        sizes[name] = (int(size.replace(",", "")), int(quick_size.replace(",", "")))
    return sizes


@pytest.fixture
def experimaestro_venv() -> None:
    """Skip unless benchmarks/.venv-experimaestro holds experimaestro 2.7.0 (creating it needs
    the network)."""
    if not EXPERIMAESTRO_PYTHON.exists():
        pytest.skip(
            "no benchmarks/.venv-experimaestro "
            "(python benchmarks/run.py --against-experimaestro creates it)"
        )
    check = subprocess.run(
        [
            str(EXPERIMAESTRO_PYTHON),
            "-c",
            "import importlib.metadata as m; print(m.version('experimaestro'))",
        ],
        capture_output=True,
        text=True,
    )
    if check.stdout.strip() != "2.7.0":
        pytest.skip("benchmarks/.venv-experimaestro does not hold experimaestro 2.7.0")


def test_help_explains_every_option() -> None:
    process = run_benchmarks("--help")
    assert process.returncode == 0
    for option in (
        "--only",
        "--repeat",
        "--quick",
        "--against-experimaestro",
        "--json",
        "--list",
        "--timeout",
    ):
        assert option in process.stdout


def test_list_shows_the_identifier_workloads() -> None:
    sizes = listed_sizes()
    assert {"identifiers.small_configs", "identifiers.nested_chain", "identifiers.int_list"} <= set(
        sizes
    )
    assert sizes["identifiers.small_configs"][0] == 10_000
    assert sizes["identifiers.nested_chain"][0] == 1_000
    assert sizes["identifiers.int_list"][0] == 10_000


def test_quick_json_report_structure() -> None:
    """Holds whether or not xpm_core provides Config yet: the rows then say "unavailable"."""
    report = run_json("--quick", "--only", "identifiers", "--repeat", "1")
    sizes = listed_sizes()
    assert report["quick"] is True
    assert report["repeat"] == 1
    assert report["comparisons"] == []
    assert [r["workload"] for r in report["results"]] == [
        name for name in sizes if name.startswith("identifiers.")
    ]
    for result in report["results"]:
        assert result["implementation"] == "xpm"
        assert result["size"] == sizes[result["workload"]][1]
        assert result["status"] in STATUSES
        if result["status"] == "ok":
            assert len(result["times"]) == len(result["build_times"]) == 1
            assert result["best"] == result["median"] == result["times"][0]
            assert re.fullmatch(r"[0-9a-f]{16}", result["fingerprint"])
        else:
            assert result["error"]
            assert result["best"] is None and result["median"] is None


def test_table_has_a_row_per_workload_and_implementation() -> None:
    process = run_benchmarks("--quick", "--only", "int_list", "--repeat", "1")
    assert process.returncode == 0, process.stderr
    header, separator, *rows = process.stdout.splitlines()
    columns = [
        "workload",
        "implementation",
        "size",
        "build (median)",
        "best",
        "median",
        "xpm speedup",
        "note",
    ]
    assert re.split(r"\s{2,}", header.strip()) == columns
    assert set(separator) == {"-", " "}
    assert len(rows) == 1 and rows[0].startswith("identifiers.int_list  xpm")


def test_unknown_workload_is_a_clear_error() -> None:
    process = run_benchmarks("--only", "no_such_workload")
    assert process.returncode == 2
    assert "no workload matches 'no_such_workload'" in process.stderr
    assert "Traceback" not in process.stderr


def test_against_experimaestro(experimaestro_venv: None) -> None:
    report = run_json(
        "--against-experimaestro", "--only", "nested_chain", "--only", "int_list", "--repeat", "1"
    )
    results = {(r["workload"], r["implementation"]): r for r in report["results"]}
    assert set(results) == {
        (workload, implementation)
        for workload in ("identifiers.nested_chain", "identifiers.int_list")
        for implementation in ("xpm", "experimaestro")
    }

    # experimaestro recurses at every nesting level: a 1,000-deep chain exceeds the
    # default recursion limit, which must appear as a failed row, not a crash.
    chain = results["identifiers.nested_chain", "experimaestro"]
    assert chain["status"] == "failed"
    assert chain["label"] == "experimaestro 2.7.0"
    assert re.search(
        r"RecursionError: at depth 1000 \(deepest chain that works: \d+\)", chain["error"]
    )

    assert results["identifiers.int_list", "experimaestro"]["status"] == "ok"
    # When the xpm object model exists, it must compute experimaestro's identifiers.
    for comparison in report["comparisons"]:
        assert comparison["speedup"] > 0
        assert comparison["identical_output"] is True
