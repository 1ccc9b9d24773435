"""BENCH_ONLY: run a subset of the figures on a shared machine, e.g.
`BENCH_ONLY=I.summary,I.csv python -m benchmarks` (the idle gate and those two floods only).

Each entry is a figure key or a prefix of one: `I` selects every isolation flood on SQLite,
`I.postgres.csv` one flood on Postgres, `M2` both backends' M2, `B` the bound-pass figures
(in-process: no wrk needed). Unset, everything runs.
"""

from __future__ import annotations

import os

__all__ = ["ONLY", "needs_wrk", "wanted"]

ONLY = tuple(p for p in os.environ.get("BENCH_ONLY", "").replace(" ", "").split(",") if p)


def wanted(key: str) -> bool:
    """Whether the step measuring `key` runs: an entry selects its key and everything
    under it (`I` → `I.svg`), and a step's key selects the steps its entries are under."""
    return not ONLY or any(
        key == p or key.startswith(p + ".") or p.startswith(key + ".") for p in ONLY
    )


# Figures measured in-process (or by the agent), without an HTTP load generator.
_IN_PROCESS = ("F1", "F2", "F3", "M1", "B", "O")


def needs_wrk() -> bool:
    """Whether any selected figure loads a server over HTTP (so wrk must be installed)."""
    return not ONLY or any(p.split(".")[0] not in _IN_PROCESS for p in ONLY)
