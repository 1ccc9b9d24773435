"""SQL functions whose spelling differs by backend, compiled per dialect in this one place.

Services use them like any SQLAlchemy function and never learn which database answers
(advanced-alchemy's `@compiles` pattern).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["HOUR_FORMAT", "utc_hour"]

# What utc_hour returns, as a strptime format: '2026-12-01 07'.
HOUR_FORMAT = "%Y-%m-%d %H"


class utc_hour(FunctionElement[str]):  # noqa: N801 - SQL functions read lower case
    """The UTC hour a (naive UTC) timestamp column falls in, as 'YYYY-MM-DD HH' text."""

    type = String()
    name = "utc_hour"
    inherit_cache = True


@compiles(utc_hour, "sqlite")
def _sqlite_hour(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d %H', {compiler.process(element.clauses, **kw)})"


@compiles(utc_hour, "postgresql")
def _postgres_hour(element: utc_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD HH24')"
