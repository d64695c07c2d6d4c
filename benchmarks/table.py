"""Rendering of benchmark results as an aligned text table."""

from __future__ import annotations

from typing import Optional

from benchmarks.results import EXPERIMAESTRO, FAILED, UNAVAILABLE, XPM, Comparison, Result

HEADERS = (
    "workload",
    "implementation",
    "size",
    "build (median)",
    "best",
    "median",
    "xpm speedup",
    "note",
)
RIGHT_ALIGNED = {"size", "build (median)", "best", "median", "xpm speedup"}


def format_seconds(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def note(result: Result, comparison: Optional[Comparison]) -> str:
    if result.status == UNAVAILABLE:
        return f"not available ({result.error})"
    if result.status == FAILED:
        return (
            f"failed ({result.phase}): {result.error}"
            if result.phase
            else f"failed: {result.error}"
        )
    if (
        result.implementation == XPM
        and comparison is not None
        and comparison.identical_output is not None
    ):
        return (
            f"same output as {EXPERIMAESTRO}"
            if comparison.identical_output
            else f"OUTPUT DIFFERS from {EXPERIMAESTRO}"
        )
    return ""


def row(result: Result, comparisons: dict[str, Comparison]) -> tuple[str, ...]:
    comparison = comparisons.get(result.workload)
    speedup = (
        f"{comparison.speedup:.2f}x"
        if comparison is not None and result.implementation == XPM
        else ""
    )
    return (
        result.workload,
        result.label,
        f"{result.size:,}",
        format_seconds(result.build_median),
        format_seconds(result.best),
        format_seconds(result.median),
        speedup,
        note(result, comparison),
    )


def render_table(results: list[Result], comparisons: dict[str, Comparison]) -> str:
    rows = [HEADERS, *(row(result, comparisons) for result in results)]
    widths = [max(len(cells[i]) for cells in rows) for i in range(len(HEADERS))]

    def line(cells: tuple[str, ...]) -> str:
        padded = [
            cell.rjust(width) if header in RIGHT_ALIGNED else cell.ljust(width)
            for cell, width, header in zip(cells, widths, HEADERS)
        ]
        return "  ".join(padded).rstrip()

    lines = [
        line(HEADERS),
        "  ".join("-" * width for width in widths),
        *(line(cells) for cells in rows[1:]),
    ]
    if comparisons:
        lines.append("")
        lines.append("xpm speedup = experimaestro median / xpm median (above 1: xpm is faster)")
    return "\n".join(lines)
