"""Used-pass rows are kept until an hour past their token's exp by the database's clock,
then swept away; the sweep runs on a timer and after a scan, at most once per interval."""

from __future__ import annotations

import asyncio
import time

from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select

from gymgate.api import create_app
from gymgate.clock import FrozenClock, to_datetime
from gymgate.models import UsedPass
from gymgate.runtime import Runtime
from gymgate.services.sweep import SWEEP_MARGIN_SECONDS
from gymgate.settings import Settings
from tests.api.helpers import Client, scan

DAY = 86400


async def add_used(runtime: Runtime, pass_id: str, expires_at: float, state: str = "used") -> None:
    async with runtime.storage.writing() as session:
        await session.execute(
            insert(UsedPass).values(
                pass_id=pass_id,
                state=state,
                at=to_datetime(expires_at - DAY),
                gate="front-door" if state == "used" else None,
                expires_at=int(expires_at),
            )
        )


async def used_pass_ids(runtime: Runtime) -> set[str]:
    async with runtime.storage.reading() as session:
        return set(await session.scalars(select(UsedPass.pass_id)))


async def test_sweep_removes_only_rows_an_hour_past_exp_by_the_database_clock(
    runtime: Runtime,
) -> None:
    # The database's clock is the real one; the test's frozen clock (a future date) and the
    # leeway play no part: no server's clock or settings can make a row go early.
    now = time.time()
    await add_used(runtime, "long_gone", now - DAY)
    await add_used(runtime, "just_gone", now - SWEEP_MARGIN_SECONDS - 60)
    await add_used(runtime, "revoked_gone", now - SWEEP_MARGIN_SECONDS - 60, state="revoked")
    await add_used(runtime, "inside_margin", now - SWEEP_MARGIN_SECONDS + 60)
    await add_used(runtime, "expired_now", now)
    await add_used(runtime, "still_valid", now + DAY)

    swept = await runtime.sweeper.sweep()

    assert swept == 3
    assert await used_pass_ids(runtime) == {"inside_margin", "expired_now", "still_valid"}


async def test_sweep_of_nothing_expired_removes_nothing(runtime: Runtime) -> None:
    await add_used(runtime, "still_valid", time.time() + 60)

    assert await runtime.sweeper.sweep() == 0
    assert await used_pass_ids(runtime) == {"still_valid"}


async def test_a_sweep_is_due_once_per_interval_of_the_clock(
    runtime: Runtime, clock: FrozenClock, settings: Settings
) -> None:
    sweeper = runtime.sweeper
    assert not sweeper.claim()

    clock.advance(settings.cleanup_interval_seconds)
    assert sweeper.claim()
    assert not sweeper.claim()  # claimed: the next scans do not sweep again

    clock.advance(settings.cleanup_interval_seconds)
    await sweeper.sweep()
    assert not sweeper.claim()


async def test_a_verify_sweeps_long_expired_rows_on_its_way_out(
    client: Client, gate_secret: str, clock: FrozenClock, runtime: Runtime
) -> None:
    await add_used(runtime, "long_gone", time.time() - DAY)
    await add_used(runtime, "still_valid", time.time() + DAY)
    clock.advance(61)  # past the 60 s cleanup interval

    await scan(client, gate_secret, "junk")

    deadline = time.monotonic() + 5
    while await used_pass_ids(runtime) != {"still_valid"}:
        assert time.monotonic() < deadline, "the scan's background sweep did not run"
        await asyncio.sleep(0.02)  # polling for the background task's effect, bounded


async def test_a_verify_does_not_sweep_before_the_interval_has_passed(
    client: Client, gate_secret: str, clock: FrozenClock, runtime: Runtime
) -> None:
    await add_used(runtime, "long_gone", time.time() - DAY)
    clock.advance(30)  # less than the 60 s cleanup interval since the app started

    await scan(client, gate_secret, "junk")

    assert await used_pass_ids(runtime) == {"long_gone"}


async def test_the_lifespan_task_sweeps_periodically(
    settings: Settings, clock: FrozenClock, runtime: Runtime
) -> None:
    await add_used(runtime, "long_gone", time.time() - DAY)
    await add_used(runtime, "still_valid", time.time() + DAY)
    app = create_app(settings.replace(cleanup_interval_seconds=1), clock=clock)

    async with AsyncTestClient(app=app):
        deadline = time.monotonic() + 5
        while await used_pass_ids(runtime) != {"still_valid"}:
            assert time.monotonic() < deadline, "the periodic sweep did not run within 5 s"
            await asyncio.sleep(0.05)  # polling for the task's effect, bounded by the deadline
