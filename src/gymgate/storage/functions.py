"""SQL functions whose spelling differs by backend, compiled per dialect in this one place.

Services use them like any SQLAlchemy function and never learn which database answers
(advanced-alchemy's `@compiles` pattern).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = ["HOUR_FORMAT", "contains_any", "iso_utc", "joined_in_order", "utc_hour"]

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


class iso_utc(FunctionElement[str]):  # noqa: N801 - SQL functions read lower case
    """A (naive UTC) timestamp column as gymgate.clock.to_iso writes it:
    'YYYY-MM-DDTHH:MM:SS[.ffffff]Z', the fraction only when it is not zero."""

    type = String()
    name = "iso_utc"
    inherit_cache = True


@compiles(iso_utc, "sqlite")
def _sqlite_iso(element: iso_utc, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLAlchemy's SQLite format).
    column = compiler.process(element.clauses, **kw)
    return f"(replace(replace({column}, ' ', 'T'), '.000000', '') || 'Z')"


@compiles(iso_utc, "postgresql")
def _postgres_iso(element: iso_utc, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return (
        f"(to_char({column}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"date_part('microseconds', {column})::bigint % 1000000 = 0 THEN '' "
        f"ELSE to_char({column}, '.US') END || 'Z')"
    )


class joined_in_order(FunctionElement[str]):  # noqa: N801 - SQL functions read lower case
    """An aggregate: the texts of its first argument run together, in the order of its
    second (on SQLite: the order the rows arrive in, so aggregate an ordered subquery)."""

    type = String()
    name = "joined_in_order"
    inherit_cache = True


@compiles(joined_in_order, "sqlite")
def _sqlite_joined(element: joined_in_order, compiler: SQLCompiler, **kw: Any) -> str:
    text, _order = element.clauses
    return f"group_concat({compiler.process(text, **kw)}, '')"


@compiles(joined_in_order, "postgresql")
def _postgres_joined(element: joined_in_order, compiler: SQLCompiler, **kw: Any) -> str:
    text, order = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"string_agg({text}, '' ORDER BY {order})"


class contains_any(FunctionElement[bool]):  # noqa: N801 - SQL functions read lower case
    """Whether a text holds any of the characters `chars` (one pass over the text, no
    pattern built per row). `chars` are ours, not input: no ] ^ - \\ or quote among them."""

    type = Boolean()
    name = "contains_any"
    # `chars` is part of the SQL written, so it is part of the cache key: a statement using
    # this caches its compiled form like any other (without it, the CSV export's chunk
    # query was compiled afresh for every chunk, ~4 ms on the event loop each).
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own spelling, read per class
        *FunctionElement._traverse_internals,
        ("chars", InternalTraversal.dp_string),
    ]
    inherit_cache = True

    def __init__(self, text: Any, chars: str) -> None:
        if set(chars) & set("]^-\\'") or not chars:
            raise ValueError(f"contains_any cannot look for {chars!r}")
        self.chars = chars
        super().__init__(text)


@compiles(contains_any, "sqlite")
def _sqlite_contains_any(element: contains_any, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} GLOB '*[{element.chars}]*')"


@compiles(contains_any, "postgresql")
def _postgres_contains_any(element: contains_any, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} ~ '[{element.chars}]')"
