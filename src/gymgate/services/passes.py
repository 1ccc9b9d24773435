"""Issuing a pass (one per payment, for life) and reporting its status to its holder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.clock import Clock, to_datetime
from gymgate.db import insert_unless_exists
from gymgate.errors import NotFound, PaymentConflict, PaymentNotCompleted
from gymgate.ids import new_id
from gymgate.keystore import KeySet
from gymgate.models import Pass, UsedPass
from gymgate.services.payments import get_payment
from gymgate.tokens import issue_token

__all__ = ["IssuedPass", "PassState", "PassStatus", "issue_pass", "pass_status"]

PassState = Literal["unused", "used", "revoked", "expired"]


@dataclass(frozen=True, slots=True)
class IssuedPass:
    token: str
    pass_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PassStatus:
    pass_id: str
    status: PassState
    expires_at: datetime
    used_at: datetime | None
    used_gate: str | None


async def issue_pass(
    session: AsyncSession,
    keyset: KeySet,
    clock: Clock,
    *,
    payment_id: str,
    issuer: str,
    ttl_seconds: int,
) -> IssuedPass:
    """A freshly signed token for the payment's pass, creating the pass the first time.

    Calling it again re-signs the same pass (same jti, same expiry): a new picture of one
    entry, never a second entry.
    """
    payment = await get_payment(session, payment_id)
    if payment.status == "refunded":
        raise PaymentConflict(f"payment {payment_id} was refunded; its pass is revoked")
    if payment.status != "completed":
        raise PaymentNotCompleted(f"payment {payment_id} is {payment.status}, not completed")
    now = clock.now()
    first_issue = to_datetime(int(now))  # whole seconds, like the exp claim
    await session.execute(
        insert_unless_exists(
            session,
            Pass,
            ["payment_id"],
            id=new_id(),
            payment_id=payment.id,
            user_id=payment.user_id,
            issued_at=first_issue,
            expires_at=first_issue + timedelta(seconds=ttl_seconds),
        )
    )
    await session.commit()
    the_pass = await session.scalar(select(Pass).where(Pass.payment_id == payment.id))
    assert the_pass is not None  # inserted above or by a concurrent request
    if the_pass.expires_at.timestamp() <= now:
        raise PaymentConflict(f"the pass of payment {payment_id} expired; buy a new one")
    token = issue_token(
        keyset,
        issuer=issuer,
        pass_id=the_pass.id,
        user_id=the_pass.user_id,
        issued_at=int(now),
        expires_at=int(the_pass.expires_at.timestamp()),
    )
    return IssuedPass(token, the_pass.id, the_pass.expires_at)


async def pass_status(session: AsyncSession, clock: Clock, pass_id: str) -> PassStatus:
    """Where the pass stands; reveals nothing but that pass's own state."""
    the_pass = await session.get(Pass, pass_id)
    if the_pass is None:
        raise NotFound(f"no pass {pass_id!r}")
    used = await session.get(UsedPass, pass_id)
    status: PassState
    if the_pass.revoked_at is not None:
        status = "revoked"
    elif used is not None and used.state == "used":
        status = "used"
    elif the_pass.expires_at.timestamp() <= clock.now():
        status = "expired"
    else:
        status = "unused"
    used_here = used is not None and used.state == "used"
    return PassStatus(
        the_pass.id,
        status,
        the_pass.expires_at,
        used.at if used_here and used else None,
        used.gate if used_here and used else None,
    )
