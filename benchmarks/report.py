"""Figures with their targets, printed as one table and one JSON line."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Figure", "Report", "at_least", "at_most", "machine", "median_of", "ratio"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number; `holds` is None for floors and plain facts."""

    key: str
    label: str
    value: float | None
    unit: str = ""
    target: str = ""
    holds: bool | None = None

    def shown(self) -> str:
        if self.value is None:
            return "n/a"
        if self.unit in ("/s", "B", "MB", "rows"):
            return f"{self.value:,.0f}{'' if self.unit == 'rows' else ' ' + self.unit}"
        if self.unit == "ms":
            return f"{self.value:.2f} ms"
        if self.unit == "MB/s":
            return f"{self.value:.1f} MB/s"
        if self.unit == "x":
            return f"{self.value:.2f}x"
        return f"{self.value:g}{self.unit}"

    @classmethod
    def floor(cls, key: str, label: str, value: float | None, least: float) -> Figure:
        """A ratio that must be at least `least`."""
        return cls(key, label, value, "x", f">= {least:.2f}", at_least(value, least))

    @classmethod
    def ceiling(cls, key: str, label: str, value: float | None, most: float) -> Figure:
        """A ratio that must be at most `most`."""
        return cls(key, label, value, "x", f"<= {most:g}", at_most(value, most))

    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: ""}[self.holds]


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in cpuinfo
                    if line.startswith("model name")
                ),
                "",
            )
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def rounds(
        self, key: str, tops: Sequence[float | None], bottoms: Sequence[float | None]
    ) -> float | None:
        """The median over rounds of top / bottom (see `ratio`; a round missing either side
        counts for nothing, and None if every round does); each round's ratio goes into the
        notes, so the spread is in plain sight."""
        ratios = [ratio(top, bottom) for top, bottom in zip(tops, bottoms, strict=True)]
        shown = " ".join("n/a" if r is None else f"{r:.2f}" for r in ratios)
        self.notes.append(f"{key} by round: {shown}")
        return median_of(ratios)

    def value(self, key: str) -> float | None:
        return next((f.value for f in self.figures if f.key == key), None)

    def table(self) -> str:
        rows = [("id", "figure", "value", "target", "holds")]
        rows += [(f.key, f.label, f.shown(), f.target, f.verdict()) for f in self.figures]
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
        lines.insert(1, "  ".join("-" * width for width in widths))
        return "\n".join(line.rstrip() for line in lines)

    def as_json(self, elapsed_seconds: float) -> str:
        document = {
            "machine": machine(),
            "elapsed_seconds": round(elapsed_seconds, 1),
            "figures": {f.key: f.value for f in self.figures},
            "holds": {f.key: f.holds for f in self.figures if f.holds is not None},
            "notes": self.notes,
        }
        return json.dumps(document, separators=(",", ":"))


def median_of(values: Sequence[float | None]) -> float | None:
    """The median of the values present (None if none is): a run that measured nothing is
    left out, never counted as zero."""
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def at_least(value: float | None, floor: float) -> bool | None:
    return None if value is None else value >= floor


def at_most(value: float | None, ceiling: float) -> bool | None:
    return None if value is None else value <= ceiling
