"""The check-in use case on both databases, without HTTP: decide, admit once, audit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from gymgate.clock import FrozenClock
from gymgate.errors import StorageUnavailable
from gymgate.models import AuditEvent
from gymgate.runtime import Runtime
from gymgate.settings import Settings


async def paid_token(runtime: Runtime, email: str = "ana@example.com") -> str:
    payment = await runtime.payments.create(email=email, name="Ana", simulate=None)
    return (await runtime.passes.issue(payment.payment_id)).token


async def audit_rows(runtime: Runtime) -> list[tuple[str, str | None, str]]:
    async with runtime.storage.reading() as session:
        rows = await session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [(row.result, row.reason, row.mode) for row in rows]


async def test_the_second_check_in_of_a_pass_is_denied_with_where_and_when(
    runtime: Runtime, clock: FrozenClock
) -> None:
    token = await paid_token(runtime)
    first = await runtime.check_in(token, "front-door")
    clock.advance(30)

    second = await runtime.check_in(token, "side-door")

    assert first.allowed
    assert (second.result, second.reason, second.used_gate) == (
        "deny",
        "already_used",
        "front-door",
    )
    assert second.used_at is not None
    assert second.used_at.timestamp() == clock.now() - 30
    assert await audit_rows(runtime) == [
        ("allow", None, "online"),
        ("deny", "already_used", "online"),
    ]


async def test_a_token_that_fails_verification_is_denied_and_audited(runtime: Runtime) -> None:
    decision = await runtime.check_in("not-a-token", "front-door")

    assert (decision.result, decision.reason) == ("deny", "malformed")
    assert await audit_rows(runtime) == [("deny", "malformed", "online")]


async def test_a_refunded_pass_is_denied_revoked(runtime: Runtime) -> None:
    payment = await runtime.payments.create(email="r@example.com", name=None, simulate=None)
    token = (await runtime.passes.issue(payment.payment_id)).token
    await runtime.payments.refund(payment.payment_id)

    decision = await runtime.check_in(token, "front-door")

    assert (decision.result, decision.reason) == ("deny", "revoked")


async def test_concurrent_check_ins_of_one_pass_admit_it_once(runtime: Runtime) -> None:
    token = await paid_token(runtime)

    decisions = await asyncio.gather(*(runtime.check_in(token, f"gate-{n}") for n in range(20)))

    assert sorted(d.result for d in decisions) == ["allow"] + ["deny"] * 19
    assert {d.reason for d in decisions if not d.allowed} == {"already_used"}
    assert len(await audit_rows(runtime)) == 20


async def test_check_ins_recover_when_postgres_drops_the_gate_connections(
    runtime: Runtime, settings: Settings
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("the gate's own connections are Postgres's")
    tokens = [await paid_token(runtime, f"m{n}@example.com") for n in range(6)]
    assert (await runtime.check_in(tokens[0], "front-door")).allowed  # its connections open
    async with runtime.storage.writing() as session:  # as a restart or an admin would
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )

    outcomes: list[str] = []
    for token in tokens[1:]:
        try:
            outcomes.append((await runtime.check_in(token, "front-door")).result)
        except StorageUnavailable:
            outcomes.append("503")

    # A scan on a dropped connection may be told "database unavailable" (never a crash, never
    # a wrong answer); the next ones get fresh connections and are admitted.
    assert outcomes.count("503") <= 1
    assert outcomes[-3:] == ["allow"] * 3
    assert [row[0] for row in await audit_rows(runtime)].count("allow") == 1 + outcomes.count(
        "allow"
    )
