"""Outcome of one workload under one implementation, and the xpm-vs-experimaestro comparison."""

from __future__ import annotations

import statistics
from typing import Any, Optional

import attrs

OK = "ok"
FAILED = "failed"
UNAVAILABLE = "unavailable"

XPM = "xpm"
EXPERIMAESTRO = "experimaestro"


@attrs.define(kw_only=True)
class Result:
    workload: str
    implementation: str
    size: int
    status: str
    version: Optional[str] = None
    python: Optional[str] = None
    times: list[float] = attrs.field(factory=list)
    build_times: list[float] = attrs.field(factory=list)
    fingerprint: Optional[str] = None
    phase: Optional[str] = None
    error: Optional[str] = None

    @classmethod
    def from_worker(
        cls, workload: str, implementation: str, size: int, data: dict[str, Any]
    ) -> Result:
        return cls(
            workload=workload,
            implementation=implementation,
            size=size,
            status=data["status"],
            version=data.get("version"),
            python=data.get("python"),
            times=data.get("times", []),
            build_times=data.get("build_times", []),
            fingerprint=data.get("fingerprint"),
            phase=data.get("phase"),
            error=data.get("error"),
        )

    @classmethod
    def crashed(cls, workload: str, implementation: str, size: int, error: str) -> Result:
        """A run whose worker wrote no result: it timed out or died."""
        return cls(
            workload=workload, implementation=implementation, size=size, status=FAILED, error=error
        )

    @property
    def label(self) -> str:
        return f"{self.implementation} {self.version}" if self.version else self.implementation

    @property
    def best(self) -> Optional[float]:
        return min(self.times) if self.times else None

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.times) if self.times else None

    @property
    def build_median(self) -> Optional[float]:
        return statistics.median(self.build_times) if self.build_times else None

    def to_json(self) -> dict[str, Any]:
        return {
            **attrs.asdict(self),
            "label": self.label,
            "best": self.best,
            "median": self.median,
            "build_median": self.build_median,
        }


@attrs.frozen(kw_only=True)
class Comparison:
    """xpm against experimaestro on one workload, when both ran to completion."""

    workload: str
    speedup: float
    identical_output: Optional[bool]

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def compare(results: list[Result]) -> dict[str, Comparison]:
    """Comparisons by workload name; ``speedup`` > 1 means xpm is faster (ratio of medians)."""
    by_key = {(r.workload, r.implementation): r for r in results}
    comparisons = {}
    for workload in dict.fromkeys(r.workload for r in results):
        ours = by_key.get((workload, XPM))
        theirs = by_key.get((workload, EXPERIMAESTRO))
        if ours is None or theirs is None or ours.status != OK or theirs.status != OK:
            continue
        identical = None
        if ours.fingerprint is not None and theirs.fingerprint is not None:
            identical = ours.fingerprint == theirs.fingerprint
        comparisons[workload] = Comparison(
            workload=workload, speedup=theirs.median / ours.median, identical_output=identical
        )
    return comparisons
