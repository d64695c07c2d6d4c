"""Subprocess entry point: runs one workload on one implementation, writes its timings as JSON.

Usage (by run.py): ``PYTHON benchmarks/worker.py '<request JSON>'``. The request holds
``workload``, ``implementation``, ``size``, ``repeat`` and ``result_path``; the result is
written to ``result_path`` rather than stdout, which the measured libraries may print to.
Besides the standard library it only needs attrs, a dependency of both xpm and experimaestro,
so the interpreter of either can run it.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

# Run as a script, only benchmarks/ is on sys.path; the repository root makes the
# `benchmarks` package and the working tree's xpm_core importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.implementations import load_implementation, package_version  # noqa: E402
from benchmarks.registry import find_workload  # noqa: E402
from benchmarks.results import FAILED, OK, UNAVAILABLE  # noqa: E402


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def measure(request: dict[str, Any]) -> dict[str, Any]:
    """Set up and time the workload ``request["repeat"]`` times, each time on fresh objects."""
    workload = find_workload(request["workload"])
    result: dict[str, Any] = {"python": sys.version.split()[0], "version": None}
    try:
        api = load_implementation(request["implementation"], workload.requires)
    except Exception as error:  # an import that fails for any reason means "not available"
        return {**result, "status": UNAVAILABLE, "error": describe(error)}
    result["version"] = package_version(api)

    build_times: list[float] = []
    times: list[float] = []
    output = None
    for _ in range(request["repeat"]):
        phase = "build"
        try:
            start = time.perf_counter()
            run = workload.setup(api, request["size"])
            build_times.append(time.perf_counter() - start)

            phase = "run"
            # Like timeit: collect garbage left by the setup, then keep the collector
            # from firing at arbitrary points of the timed call.
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                output = run()
                times.append(time.perf_counter() - start)
            finally:
                gc.enable()
            # Free this repetition's objects now rather than inside the next timed build.
            del run
        except Exception as error:
            return {
                **result,
                "status": FAILED,
                "phase": phase,
                "error": describe(error),
                "build_times": build_times,
            }

    fingerprint = hashlib.sha256(output).hexdigest()[:16] if isinstance(output, bytes) else None
    return {
        **result,
        "status": OK,
        "times": times,
        "build_times": build_times,
        "fingerprint": fingerprint,
    }


def main() -> None:
    request = json.loads(sys.argv[1])
    result = measure(request)
    Path(request["result_path"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
