"""The audit export's CSV, written by the database: one line of text per row, so the server
only passes text along. (Formatting a million rows in Python held the gate's event loop up:
~5 µs a row, seconds per export.)

Each line is what Python's csv.writer (excel dialect, CRLF) writes for EXPORT_COLUMNS. Free
text (gate names, ids from tokens) is neutralised: a cell a spreadsheet would run as a
formula (starting with = + - @, a tab or a CR) starts with a ' instead (CSV injection,
OWASP). Times, results, reasons and modes are the vocabulary's words and cannot.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, case, func, literal

from gymgate.models import AuditEvent
from gymgate.storage.functions import contains_any, iso_utc

__all__ = ["CRLF", "EXPORT_COLUMNS", "FORMULA_STARTS", "csv_header", "csv_line"]

# The columns an export writes, in order (the contract names at least these).
EXPORT_COLUMNS = ("at", "gate", "result", "reason", "pass_id", "user_id", "mode", "conflict")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What makes csv.writer put a cell in quotes (QUOTE_MINIMAL with "\r\n" line ends).
NEEDS_QUOTES = ',"\r\n'
CRLF = "\r\n"


def csv_header() -> str:
    return ",".join(EXPORT_COLUMNS) + CRLF


def csv_line() -> ColumnElement[str]:
    """One audit row as a CSV line, CRLF included, as an SQL expression."""
    line: ColumnElement[str] = iso_utc(AuditEvent.at)
    cells: list[Any] = [
        _free_text(AuditEvent.gate),
        AuditEvent.result,
        func.coalesce(AuditEvent.reason, ""),
        _free_text(AuditEvent.pass_id),
        _free_text(AuditEvent.user_id),
        AuditEvent.mode,
        func.coalesce(AuditEvent.conflict, ""),
    ]
    for cell in cells:
        line = line + literal(",", String) + cell
    return line + literal(CRLF, String)


def _free_text(column: Any) -> ColumnElement[str]:
    text = func.coalesce(column, "", type_=String)
    first = func.substr(text, 1, 1, type_=String)
    neutral = case((first.in_(FORMULA_STARTS), literal("'", String) + text), else_=text)
    quoted = literal('"', String) + func.replace(neutral, '"', '""', type_=String) + '"'
    # The ' neutralising adds needs no quotes: whether to quote depends on the text alone.
    return case((contains_any(text, NEEDS_QUOTES), quoted), else_=neutral)
