"""Paying for a pass and refunding it (which revokes the pass).

A refund never holds a transaction or a connection while the provider answers: it blocks
the pass and marks the payment refund-pending in one short transaction, asks the provider
with nothing held, then records the outcome in another. Blocking the pass is an insert into
the used-nonce table, the same row an admission inserts, so a refund and a scan racing for
one pass cannot both win: either the pass admitted someone first (the refund is refused,
409) or it is denied `revoked` from then on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.clock import Clock, to_datetime
from gymgate.errors import InvalidInput, NotFound, PaymentConflict
from gymgate.ids import new_id
from gymgate.models import OperatorEvent, Pass, Payment, UsedPass, User
from gymgate.payments import PaymentProvider, ProviderError
from gymgate.pseudonyms import Pseudonyms
from gymgate.services.pass_links import PassLinks
from gymgate.storage import Storage
from gymgate.vocabulary import PaymentStatus

__all__ = ["PaymentView", "Payments", "normalise_email", "revoke_pass_of"]

# Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200
# A refund whose server died mid-way may be tried again after this long.
REFUND_RETRY_AFTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class PaymentView:
    """A payment as its payer sees it: `user_id` is the member's pseudonym for this payment
    (gymgate.pseudonyms), never the member's id."""

    payment_id: str
    user_id: str
    status: PaymentStatus
    amount_cents: int
    currency: str
    created_at: datetime
    checkout_url: str | None = None

    @classmethod
    def of(cls, payment: Payment, pseudonym: str, checkout_url: str | None = None) -> PaymentView:
        return cls(
            payment.id,
            pseudonym,
            payment.status,
            payment.amount_cents,
            payment.currency,
            payment.created_at,
            checkout_url,
        )


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(email):
        raise InvalidInput("email must be an address like ana@example.com")
    return email


def _clean_name(name: str | None) -> str | None:
    if name is None:
        return None
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise InvalidInput(f"name must be at most {MAX_NAME_LENGTH} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InvalidInput("name must not contain control characters")
    return name.strip() or None


class Payments:
    """Charging for passes and refunding them, through the configured provider."""

    def __init__(
        self,
        storage: Storage,
        provider: PaymentProvider,
        clock: Clock,
        *,
        amount_cents: int,
        currency: str,
        links: PassLinks,
    ) -> None:
        self._storage = storage
        self._pseudonyms = Pseudonyms(storage)
        self._links = links
        self._provider = provider
        self._clock = clock
        self._amount_cents = amount_cents
        self._currency = currency

    async def create(
        self, *, email: str, name: str | None, simulate: PaymentStatus | None
    ) -> PaymentView:
        """Charge for one pass through the provider and record the payment; a payment that
        completes at once gets its pass link emailed."""
        email = normalise_email(email)
        name = _clean_name(name)
        charge = await self._provider.charge(
            amount_cents=self._amount_cents, currency=self._currency, email=email,
            simulate=simulate,
        )  # fmt: skip
        now = self._now()
        async with self._storage.writing() as session:
            payment = Payment(
                id=new_id("pay_"),
                user_id=await self._user_for(session, email, name),
                status=charge.status,
                amount_cents=self._amount_cents,
                currency=self._currency,
                provider=self._provider.name,
                provider_ref=charge.reference,
                created_at=now,
                updated_at=now,
            )
            session.add(payment)
            link = None
            if charge.status == "completed":
                await session.flush()  # the link row refers to the payment
                link = await self._links.mint_in(session, payment.id, now)
        await self._links.mail_new(payment.id, link)  # committed: mail with nothing held
        return await self._view(payment, charge.checkout_url)

    async def _user_for(self, session: AsyncSession, email: str, name: str | None) -> str:
        """The user id for this email, creating the user on first payment."""
        values = {"id": new_id(), "email": email, "name": name, "created_at": self._now()}
        insert = self._storage.insert(User, **values).on_conflict_do_nothing(
            index_elements=["email"]
        )
        await session.execute(insert)
        user_id = await session.scalar(select(User.id).where(User.email == email))
        assert user_id is not None  # just inserted or already there
        return user_id

    async def get(self, payment_id: str) -> PaymentView:
        async with self._storage.reading() as session:
            payment = await _payment(session, payment_id)
        return await self._view(payment)

    async def refund(self, payment_id: str) -> PaymentView:
        """Refund a completed payment whose pass has not admitted anyone; revoke the pass."""
        reference, pass_id = await self._start_refund(payment_id)
        try:
            status = await self._provider.refund(reference)
        except ProviderError:
            await self._undo_refund(payment_id, pass_id)
            raise
        async with self._storage.writing() as session:
            payment = await _payment(session, payment_id, lock=True)
            await mark_payment(self._storage, session, self._now(), payment, status)
            payment.refund_started_at = None
            session.add(
                OperatorEvent(at=self._now(), action="refund", subject=payment_id, detail=status)
            )
        return await self._view(payment)

    async def _view(self, payment: Payment, checkout_url: str | None = None) -> PaymentView:
        pseudonym = await self._pseudonyms.of(payment.user_id, payment.id)
        return PaymentView.of(payment, pseudonym, checkout_url)

    async def _start_refund(self, payment_id: str) -> tuple[str, str | None]:
        """Block the pass and mark the refund pending; the provider's reference and pass id."""
        now = self._now()
        async with self._storage.writing() as session:
            payment = await _payment(session, payment_id, lock=True)
            if payment.status != "completed":
                raise PaymentConflict(
                    f"payment {payment_id} is {payment.status}; "
                    "only completed payments can be refunded"
                )
            started = payment.refund_started_at
            if started is not None and now - started < REFUND_RETRY_AFTER:
                raise PaymentConflict(f"a refund of payment {payment_id} is already under way")
            pass_id = await self._block_pass(session, payment_id, now)
            payment.refund_started_at = now
        return payment.provider_payment_ref or payment.provider_ref or payment.id, pass_id

    async def _block_pass(
        self, session: AsyncSession, payment_id: str, now: datetime
    ) -> str | None:
        the_pass = await session.scalar(select(Pass).where(Pass.payment_id == payment_id))
        if the_pass is None:
            return None  # no QR yet; issuing refuses while the refund is pending
        block = self._storage.insert(
            UsedPass,
            pass_id=the_pass.id,
            state="revoked",
            at=now,
            gate=None,
            expires_at=int(the_pass.expires_at.timestamp()),
        ).on_conflict_do_nothing(index_elements=["pass_id"])
        await session.execute(block)
        used = await session.get(UsedPass, the_pass.id)
        if used is not None and used.state == "used":
            raise PaymentConflict(
                f"the pass of payment {payment_id} already admitted someone "
                f"(at {used.gate}); it cannot be refunded"
            )
        return the_pass.id

    async def _undo_refund(self, payment_id: str, pass_id: str | None) -> None:
        """The provider refused: the payment stands, and so does its pass."""
        async with self._storage.writing() as session:
            await session.execute(
                update(Payment).where(Payment.id == payment_id).values(refund_started_at=None)
            )
            if pass_id is not None:
                await session.execute(
                    delete(UsedPass).where(UsedPass.pass_id == pass_id, UsedPass.state == "revoked")
                )

    def _now(self) -> datetime:
        return to_datetime(self._clock.now())


async def _payment(session: AsyncSession, payment_id: str, *, lock: bool = False) -> Payment:
    query = select(Payment).where(Payment.id == payment_id)
    payment = await session.scalar(query.with_for_update() if lock else query)
    if payment is None:
        raise NotFound(f"no payment {payment_id!r}")
    return payment


async def mark_payment(
    storage: Storage, session: AsyncSession, now: datetime, payment: Payment, status: PaymentStatus
) -> None:
    """Move a payment to a new status; refunding revokes its pass in the same transaction."""
    payment.status = status
    payment.updated_at = now
    if status == "refunded":
        await revoke_pass_of(storage, session, payment.id, now)


async def revoke_pass_of(
    storage: Storage, session: AsyncSession, payment_id: str, now: datetime
) -> None:
    """Mark the payment's pass revoked, and block it in the used-nonce table (unless it was
    used: a used pass stays used)."""
    revoked = await session.execute(
        update(Pass)
        .where(Pass.payment_id == payment_id, Pass.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(Pass.id, Pass.expires_at)
    )
    row = revoked.first()
    if row is None:
        return  # no QR was ever generated: nothing can reach a gate
    block = storage.insert(
        UsedPass,
        pass_id=row.id,
        state="revoked",
        at=now,
        gate=None,
        expires_at=int(row.expires_at.timestamp()),
    )
    await session.execute(block.on_conflict_do_nothing(index_elements=["pass_id"]))
