"""`make test` leaves the long `soak` variants out; `make soak` (-m soak) runs only them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RACES = "tests/e2e/test_refund_race.py"


def collected(*args: str) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *args, RACES],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    return [line for line in run.stdout.splitlines() if "::" in line]


def test_soak_variants_are_left_out_by_default_and_by_other_marker_filters() -> None:
    for args in ((), ("-m", "not e2e or e2e")):
        names = collected(*args)
        assert names, args
        assert not any("thousands" in name for name in names), args


def test_make_soak_selects_only_the_soak_variants() -> None:
    names = collected("-m", "soak")

    assert names
    assert all("thousands" in name for name in names)
