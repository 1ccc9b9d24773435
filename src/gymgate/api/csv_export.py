"""Audit rows as CSV text, chunk by chunk, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from gymgate.clock import to_iso
from gymgate.services.audit import EXPORT_COLUMNS

__all__ = ["csv_text", "neutralise"]

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """The cell's text, with a leading ' when a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    text = to_iso(value) if isinstance(value, datetime) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def csv_text(chunks: AsyncIterator[Sequence[Row[Any]]]) -> AsyncIterator[str]:
    """The header row, then one CSV text per chunk of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    async for rows in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            [neutralise(getattr(row, name)) for name in EXPORT_COLUMNS] for row in rows
        )
        yield buffer.getvalue()
