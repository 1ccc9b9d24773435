"""Issuing a pass (one per payment, for life) and reporting its status to its holder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection, bindparam, select

from gymgate.binding import DeviceKey
from gymgate.clock import Clock, to_datetime
from gymgate.errors import InvalidInput, NotFound, PaymentConflict, PaymentNotCompleted
from gymgate.ids import new_id
from gymgate.keystore import ReloadingKeySet
from gymgate.models import Pass, PassBinding, Payment, UsedPass
from gymgate.services.device_bindings import bind_pass
from gymgate.storage import Storage
from gymgate.tokens import issue_token
from gymgate.vocabulary import BindingMode, PassState

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


BINDING_REQUIRED = (
    "this gym binds passes to the member's phone (a plain code would be a shareable "
    "screenshot): open the pass on the member page of the phone that will show it"
)
BINDING_OFF = "pass binding is off on this server: send no device_key"


@dataclass(frozen=True, slots=True)
class IssuedPass:
    token: str
    pass_id: str
    expires_at: datetime
    jkt: str | None  # the phone it is bound to; None for a plain pass
    issued_at: float  # the server's clock, so a phone can correct its own


@dataclass(frozen=True, slots=True)
class PassStatus:
    pass_id: str
    status: PassState
    expires_at: datetime
    used_at: datetime | None
    used_gate: str | None
    jkt: str | None  # the phone it is bound to now (a moved pass shows the new one)


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
        binding: BindingMode = "none",
    ) -> None:
        self._binding = binding
        self._storage = storage
        self._keys = keys
        self._clock = clock
        self._issuer = issuer
        self._ttl = ttl_seconds
        self._new_pass = storage.insert(Pass).on_conflict_do_nothing(index_elements=["payment_id"])

    def require_binding_mode(self, device: DeviceKey | None) -> None:
        """InvalidInput unless the request fits this installation: a phone's key with
        `device` binding, none without."""
        if self._binding == "device" and device is None:
            raise InvalidInput(BINDING_REQUIRED)
        if self._binding == "none" and device is not None:
            raise InvalidInput(BINDING_OFF)

    async def issue(self, payment_id: str, device: DeviceKey | None = None) -> IssuedPass:
        """A freshly signed token for the payment's pass, creating the pass the first time,
        bound to `device` when given (see gymgate.services.device_bindings).

        Calling it again re-signs the same pass (same jti, same expiry): a new picture of one
        entry, never a second entry.
        """
        self.require_binding_mode(device)
        now = self._clock.now()
        pass_id, user_id, expires_at = await self._storage.write(
            partial(self._pass_of_payment, payment_id, int(now), device)
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
            device=device,
        )
        return IssuedPass(token, pass_id, expires_at, device.jkt if device else None, now)

    def _pass_of_payment(
        self, payment_id: str, now: int, device: DeviceKey | None, db: Connection
    ) -> tuple[str, str, datetime]:
        """One transaction: check the payment, create its pass unless it has one, bind it to
        the phone if one is given, read it."""
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
        if device is not None and the_pass.expires_at > first_issue:
            bind_pass(db, the_pass.id, device.jkt, first_issue)
        return the_pass.id, the_pass.user_id, the_pass.expires_at

    async def status(self, pass_id: str) -> PassStatus:
        """Where the pass stands; reveals nothing but that pass's own state."""
        async with self._storage.reading() as session:
            the_pass = await session.get(Pass, pass_id)
            if the_pass is None:
                raise NotFound(f"no pass {pass_id!r}")
            used = await session.get(UsedPass, pass_id)
            binding = await session.get(PassBinding, pass_id)
        admitted = used if used is not None and used.state == "used" else None
        return PassStatus(
            the_pass.id,
            pass_state(the_pass, used, self._clock.now()),
            the_pass.expires_at,
            admitted.at if admitted else None,
            admitted.gate if admitted else None,
            binding.jkt if binding else None,
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
