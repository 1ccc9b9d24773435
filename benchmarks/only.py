"""BENCH_ONLY: run a subset of the figures on a shared machine, e.g.
`BENCH_ONLY=I.summary,I.csv python -m benchmarks` (the idle gate and those two floods only).

Each entry is a figure key or a prefix of one: `I` selects every isolation flood on SQLite,
`I.postgres.csv` one flood on Postgres, `M2` both backends' M2. Unset, everything runs.
"""

from __future__ import annotations

import os

__all__ = ["ONLY", "wanted"]

ONLY = tuple(p for p in os.environ.get("BENCH_ONLY", "").replace(" ", "").split(",") if p)


def wanted(key: str) -> bool:
    """Whether the step measuring `key` runs: an entry selects its key and everything
    under it (`I` → `I.svg`), and a step's key selects the steps its entries are under."""
    return not ONLY or any(
        key == p or key.startswith(p + ".") or p.startswith(key + ".") for p in ONLY
    )
