"""Used-pass rows are kept until their token's exp + leeway, then swept away."""

from __future__ import annotations

import asyncio
import time

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import insert, select

from gymgate.api import create_app
from gymgate.api.runtime import Runtime
from gymgate.clock import FrozenClock, to_datetime
from gymgate.db import Database
from gymgate.keystore import KeyStore, ReloadingKeySet
from gymgate.models import UsedPass
from gymgate.payments import MockPaymentProvider
from gymgate.settings import Settings
from tests.api.helpers import Client, new_pass, scan

DAY = 86400


async def add_used(
    database: Database, pass_id: str, expires_at: float, state: str = "used"
) -> None:
    async with database.session() as session:
        await session.execute(
            insert(UsedPass).values(
                pass_id=pass_id,
                state=state,
                at=to_datetime(expires_at - DAY),
                gate="front-door" if state == "used" else None,
                expires_at=int(expires_at),
            )
        )
        await session.commit()


async def used_pass_ids(database: Database) -> set[str]:
    async with database.session() as session:
        return set(await session.scalars(select(UsedPass.pass_id)))


@pytest.fixture
def runtime(settings: Settings, clock: FrozenClock, database: Database) -> Runtime:
    return Runtime(
        settings=settings,
        clock=clock,
        database=database,
        keys=ReloadingKeySet(KeyStore(settings.keys_dir)),
        provider=MockPaymentProvider(),
    )


async def test_sweep_removes_rows_past_exp_plus_leeway_and_keeps_the_rest(
    runtime: Runtime, database: Database, clock: FrozenClock, settings: Settings
) -> None:
    now = clock.now()
    leeway = settings.leeway_seconds
    await add_used(database, "long_gone", now - DAY)
    await add_used(database, "just_gone", now - leeway - 1)
    await add_used(database, "revoked_gone", now - leeway - 1, state="revoked")
    await add_used(database, "inside_leeway", now - leeway)
    await add_used(database, "expired_now", now)
    await add_used(database, "still_valid", now + DAY)

    swept = await runtime.sweep_used_passes()

    assert swept == 3
    assert await used_pass_ids(database) == {"inside_leeway", "expired_now", "still_valid"}


async def test_sweep_of_nothing_expired_removes_nothing(
    runtime: Runtime, database: Database, clock: FrozenClock
) -> None:
    await add_used(database, "still_valid", clock.now() + 60)

    assert await runtime.sweep_used_passes() == 0
    assert await used_pass_ids(database) == {"still_valid"}


async def test_a_sweep_is_due_once_per_interval_of_the_clock(
    runtime: Runtime, clock: FrozenClock, settings: Settings
) -> None:
    assert not runtime.claim_sweep()

    clock.advance(settings.cleanup_interval_seconds)
    assert runtime.claim_sweep()
    assert not runtime.claim_sweep()  # claimed: the next scans do not sweep again

    clock.advance(settings.cleanup_interval_seconds)
    await runtime.sweep_used_passes()
    assert not runtime.claim_sweep()


async def test_a_verify_sweeps_expired_rows_on_its_way_out(
    client: Client, gate_secret: str, clock: FrozenClock, database: Database
) -> None:
    old = await new_pass(client, "old@example.com")
    assert (await scan(client, gate_secret, old["token"]))["status"] == "allow"
    clock.advance(DAY + 31 + 1)  # the old pass is now past exp + leeway
    new = await new_pass(client, "new@example.com")

    assert (await scan(client, gate_secret, new["token"]))["status"] == "allow"

    assert await used_pass_ids(database) == {new["pass_id"]}
    # Forgetting the row re-admits nothing: the token itself is expired.
    assert (await scan(client, gate_secret, old["token"]))["reason"] == "expired"


async def test_a_verify_does_not_sweep_before_the_interval_has_passed(
    client: Client, gate_secret: str, clock: FrozenClock, database: Database
) -> None:
    await add_used(database, "long_gone", clock.now() - DAY)
    clock.advance(30)  # less than the 60 s cleanup interval since the app started

    await scan(client, gate_secret, "junk")

    assert await used_pass_ids(database) == {"long_gone"}


async def test_the_lifespan_task_sweeps_periodically(
    settings: Settings, clock: FrozenClock, database: Database
) -> None:
    await add_used(database, "long_gone", clock.now() - DAY)
    await add_used(database, "still_valid", clock.now() + DAY)
    app = create_app(settings.replace(cleanup_interval_seconds=1), clock=clock)

    async with AsyncTestClient(app=app):
        deadline = time.monotonic() + 5
        while await used_pass_ids(database) != {"still_valid"}:
            assert time.monotonic() < deadline, "the periodic sweep did not run within 5 s"
            await asyncio.sleep(0.05)  # polling for the task's effect, bounded by the deadline
