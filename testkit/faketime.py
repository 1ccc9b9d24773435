"""Run a process with its clock shifted: Debian's libfaketime preloaded (`make clock-tools`).

It shifts what the process reads (time(), clock_gettime(), gettimeofday()), the way a server
whose NTP has failed sees the world; files under /proc, which SQLite's "database clock" reads
(gymgate.storage.sqlite), and Postgres's clock_timestamp() keep the true time.
"""

from __future__ import annotations

import glob

__all__ = ["faketime_env"]

_LIBRARY_PATTERN = "/usr/lib/*/faketime/libfaketime.so.1"


def faketime_env(offset_seconds: int) -> dict[str, str]:
    """The environment that makes a process's clock run `offset_seconds` ahead (or behind)."""
    found = sorted(glob.glob(_LIBRARY_PATTERN))
    if not found:
        raise RuntimeError(f"no {_LIBRARY_PATTERN}: install faketime (`make clock-tools`)")
    return {
        "LD_PRELOAD": found[0],
        "FAKETIME": f"{offset_seconds:+d}s",
    }
