"""Issuing a pass (one per payment, for life) and reporting its status to its holder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection, bindparam, select

from gymgate.clock import Clock, to_datetime
from gymgate.errors import NotFound, PaymentConflict, PaymentNotCompleted
from gymgate.ids import new_id
from gymgate.keystore import ReloadingKeySet
from gymgate.models import Pass, Payment, UsedPass
from gymgate.storage import Storage
from gymgate.tokens import issue_token
from gymgate.vocabulary import PassState

__all__ = ["IssuedPass", "PassStatus", "Passes", "pass_state"]

# Built once: issuing runs these in one Storage.write transaction. The payment row is locked
# (FOR UPDATE; SQLite's write lock does the same) so a refund cannot slip between reading
# "completed" and creating the pass.
_PASSES = Pass.metadata.tables[Pass.__tablename__]
_PAYMENTS = Payment.metadata.tables[Payment.__tablename__]
_PAYMENT = (
    select(_PAYMENTS.c.status, _PAYMENTS.c.user_id, _PAYMENTS.c.refund_started_at)
    .where(_PAYMENTS.c.id == bindparam("payment_id"))
    .with_for_update()
)
_PASS = select(_PASSES.c.id, _PASSES.c.user_id, _PASSES.c.expires_at).where(
    _PASSES.c.payment_id == bindparam("payment_id")
)


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


class Passes:
    """Signing passes for paid payments, and telling holders where their pass stands."""

    def __init__(
        self,
        storage: Storage,
        keys: ReloadingKeySet,
        clock: Clock,
        *,
        issuer: str,
        ttl_seconds: int,
    ) -> None:
        self._storage = storage
        self._keys = keys
        self._clock = clock
        self._issuer = issuer
        self._ttl = ttl_seconds
        self._new_pass = storage.insert(Pass).on_conflict_do_nothing(index_elements=["payment_id"])

    async def issue(self, payment_id: str) -> IssuedPass:
        """A freshly signed token for the payment's pass, creating the pass the first time.

        Calling it again re-signs the same pass (same jti, same expiry): a new picture of one
        entry, never a second entry.
        """
        now = self._clock.now()
        pass_id, user_id, expires_at = await self._storage.write(
            partial(self._pass_of_payment, payment_id, int(now))
        )
        if expires_at.timestamp() <= now:
            raise PaymentConflict(f"the pass of payment {payment_id} expired; buy a new one")
        token = issue_token(
            self._keys.current(),
            issuer=self._issuer,
            pass_id=pass_id,
            user_id=user_id,
            issued_at=int(now),
            expires_at=int(expires_at.timestamp()),
        )
        return IssuedPass(token, pass_id, expires_at)

    def _pass_of_payment(
        self, payment_id: str, now: int, db: Connection
    ) -> tuple[str, str, datetime]:
        """One transaction: check the payment, create its pass unless it has one, read it."""
        payment = db.execute(_PAYMENT, {"payment_id": payment_id}).one_or_none()
        if payment is None:
            raise NotFound(f"no payment {payment_id!r}")
        if payment.status == "refunded" or payment.refund_started_at is not None:
            raise PaymentConflict(f"payment {payment_id} is refunded; its pass is revoked")
        if payment.status != "completed":
            raise PaymentNotCompleted(f"payment {payment_id} is {payment.status}, not completed")
        first_issue = to_datetime(now)  # whole seconds, like the exp claim
        db.execute(
            self._new_pass,
            {
                "id": new_id(),
                "payment_id": payment_id,
                "user_id": payment.user_id,
                "issued_at": first_issue,
                "expires_at": first_issue + timedelta(seconds=self._ttl),
            },
        )
        the_pass = db.execute(_PASS, {"payment_id": payment_id}).one()  # ours or a concurrent
        return the_pass.id, the_pass.user_id, the_pass.expires_at

    async def status(self, pass_id: str) -> PassStatus:
        """Where the pass stands; reveals nothing but that pass's own state."""
        async with self._storage.reading() as session:
            the_pass = await session.get(Pass, pass_id)
            if the_pass is None:
                raise NotFound(f"no pass {pass_id!r}")
            used = await session.get(UsedPass, pass_id)
        admitted = used if used is not None and used.state == "used" else None
        return PassStatus(
            the_pass.id,
            pass_state(the_pass, used, self._clock.now()),
            the_pass.expires_at,
            admitted.at if admitted else None,
            admitted.gate if admitted else None,
        )


def pass_state(the_pass: Pass, used: UsedPass | None, now: float) -> PassState:
    """Where a pass stands: revoked, used (it admitted someone), expired, or unused."""
    if the_pass.revoked_at is not None:
        return "revoked"
    if used is not None and used.state == "used":
        return "used"
    if the_pass.expires_at.timestamp() <= now:
        return "expired"
    return "unused"
