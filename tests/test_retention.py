"""Audit retention: `gymgate audit prune` exports then deletes old rows; the sweep applies
GYMGATE_AUDIT_RETENTION_DAYS by the database's clock."""

from __future__ import annotations

import asyncio
import csv
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import func, insert, select

from gymgate.cli import main
from gymgate.clock import FrozenClock, to_datetime
from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from gymgate.services.retention import BATCH
from gymgate.settings import Settings

DAY = 86400
CUT = datetime(2026, 6, 1, tzinfo=UTC)


async def add_audit(settings: Settings, moments: list[datetime]) -> None:
    """Audit rows at these moments, gate `g<n>` and pass `p<n>` for the n-th."""
    rows = [
        {
            "at": moment,
            "gate": f"g{number}",
            "result": "deny",
            "reason": "expired",
            "pass_id": f"p{number}",
            "user_id": None,
            "token_sha256": "0" * 64,
            "mode": "online",
        }
        for number, moment in enumerate(moments)
    ]
    async with Runtime.open(settings) as runtime, runtime.storage.writing() as session:
        await session.execute(insert(AuditEvent), rows)


async def audit_pass_ids(settings: Settings) -> list[str | None]:
    async with Runtime.open(settings) as runtime, runtime.storage.reading() as session:
        return list(await session.scalars(select(AuditEvent.pass_id).order_by(AuditEvent.id)))


def prune(settings: Settings, *args: str) -> Result:
    env = {
        "GYMGATE_DATABASE_URL": settings.database_url,
        "GYMGATE_KEYS_DIR": str(settings.keys_dir),
    }
    return CliRunner(env=env).invoke(main, ["audit", "prune", *args])


def test_prune_exports_the_old_rows_to_csv_then_deletes_only_them(
    settings: Settings, tmp_path: Path
) -> None:
    old = [datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 5, 31, 23, 59, tzinfo=UTC)]
    asyncio.run(add_audit(settings, [*old, CUT, datetime(2026, 7, 1, tzinfo=UTC)]))
    export = tmp_path / "old-audit.csv"

    result = prune(settings, "--before", "2026-06-01", "--export", str(export))

    assert result.exit_code == 0, result.output
    assert "exported 2 audit rows" in result.output
    assert result.output.rstrip().endswith("deleted 2 audit rows before 2026-06-01T00:00:00Z")
    with export.open(newline="") as sink:
        rows = list(csv.DictReader(sink))
    assert [row["pass_id"] for row in rows] == ["p0", "p1"]
    assert rows[0]["at"] == "2026-01-01T00:00:00Z"
    assert list(rows[0])[:8] == ["at", "gate", "result", "reason", "pass_id", "user_id", "mode",
                                 "conflict"]  # fmt: skip
    assert asyncio.run(audit_pass_ids(settings)) == ["p2", "p3"]  # the cut itself stays


def test_prune_without_export_deletes_and_says_how_many(settings: Settings) -> None:
    asyncio.run(add_audit(settings, [datetime(2025, 1, 1, tzinfo=UTC)] * 3 + [CUT]))

    result = prune(settings, "--before", "2026-06-01T00:00:00Z")

    assert result.exit_code == 0, result.output
    assert "deleted 3 audit rows" in result.output
    assert asyncio.run(audit_pass_ids(settings)) == ["p3"]


def test_prune_exports_every_row_across_batches(settings: Settings, tmp_path: Path) -> None:
    count = 2 * BATCH + 7
    asyncio.run(add_audit(settings, [datetime(2025, 1, 1, tzinfo=UTC)] * count))
    export = tmp_path / "all.csv"

    result = prune(settings, "--before", "2026-01-01", "--export", str(export))

    assert result.exit_code == 0, result.output
    with export.open(newline="") as sink:
        pass_ids = [row["pass_id"] for row in csv.DictReader(sink)]
    assert pass_ids == [f"p{number}" for number in range(count)]
    assert f"deleted {count} audit rows" in result.output
    assert asyncio.run(audit_pass_ids(settings)) == []


def test_prune_refuses_a_date_it_cannot_read(settings: Settings) -> None:
    asyncio.run(add_audit(settings, [datetime(2025, 1, 1, tzinfo=UTC)]))

    result = prune(settings, "--before", "last tuesday")

    assert result.exit_code == 2
    assert "'last tuesday' is not an ISO 8601 date" in result.output
    assert asyncio.run(audit_pass_ids(settings)) == ["p0"]


async def test_the_sweep_deletes_audit_rows_past_the_retention_by_the_database_clock(
    settings: Settings, clock: FrozenClock
) -> None:
    # The frozen clock is in 2027: the sweep must go by the database's clock, not ours.
    now = time.time()
    kept = settings.replace(audit_retention_days=30)
    await add_audit(kept, [to_datetime(now - 31 * DAY), to_datetime(now - 29 * DAY)])

    async with Runtime.open(kept, clock=clock) as runtime:
        await runtime.sweeper.sweep()

    assert await audit_pass_ids(settings) == ["p1"]


async def test_without_a_retention_the_sweep_keeps_every_audit_row(
    settings: Settings, clock: FrozenClock
) -> None:
    await add_audit(settings, [to_datetime(time.time() - 3650 * DAY)])

    async with Runtime.open(settings, clock=clock) as runtime:
        await runtime.sweeper.sweep()
        async with runtime.storage.reading() as session:
            assert await session.scalar(select(func.count()).select_from(AuditEvent)) == 1
