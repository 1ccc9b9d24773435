"""Audit rows as CSV text, chunk by chunk, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row

from gymgate.clock import to_iso
from gymgate.services.audit import EXPORT_COLUMNS

__all__ = ["csv_text", "neutralise"]

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = frozenset("=+-@\t\r")


def neutralise(text: str | None) -> str:
    """The cell's text, with a leading ' when a spreadsheet would read it as a formula."""
    if not text:
        return ""
    return "'" + text if text[0] in FORMULA_STARTS else text


def _cells(row: Sequence[Any]) -> tuple[str, ...]:
    """One event's cells in EXPORT_COLUMNS order (after its id). Free text (gate names, ids
    from tokens) is neutralised; times and the vocabulary's words cannot start a formula."""
    _, at, gate, result, reason, pass_id, user_id, mode, conflict = row
    return (
        to_iso(at),
        neutralise(gate),
        result,
        reason or "",
        neutralise(pass_id),
        neutralise(user_id),
        mode,
        conflict or "",
    )


async def csv_text(chunks: AsyncIterator[Sequence[Row[Any]]]) -> AsyncIterator[str]:
    """The header row, then one CSV text per chunk of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    async for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(map(_cells, rows))
        yield buffer.getvalue()
