"""Private pass links: minted when a payment completes, emailed to the payer, opened anywhere.

A link is `{public_url}/p/#<secret>`: 256 random bits in the URL fragment, which browsers
never send to a server, so it reaches no access log. Only its SHA-256 is stored (one row
per payment in pass_links). Minting happens in the transaction that completes the payment;
the email goes out after that transaction commits, never inside it. A mail failure never
fails the payment: the row stays unmailed, and `retry_unmailed` (on a timer) mints a fresh
secret and tries again. A resend mints fresh secrets too (only hashes are kept, so an old
link cannot be sent twice): the newest email's links are the ones that work.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gymgate.background import in_background
from gymgate.clock import Clock, to_datetime
from gymgate.errors import NotFound
from gymgate.mail import Mailer, MailError, PassLinkMail, pass_links_message
from gymgate.models import Pass, PassLink, Payment, UsedPass, User
from gymgate.storage import Storage
from gymgate.storage.interface import Insert
from gymgate.throttle import Throttle

__all__ = ["LinkedPayment", "PassLinks", "link_sha256"]

log = logging.getLogger("gymgate")

# An unmailed link is tried again after this long, for at most MAIL_RETRY_FOR.
MAIL_RETRY_AFTER = timedelta(minutes=2)
MAIL_RETRY_FOR = timedelta(days=2)
RETRY_EVERY_SECONDS = 60.0
# One resend email per address per this many seconds; more requests are answered the same
# and send nothing (members and strangers alike).
RESEND_EVERY_SECONDS = 60.0
# Resend requests per client address, whatever address each names: one client cannot flood
# many mailboxes.
RESENDS_PER_CLIENT = 10
RESEND_CLIENT_WINDOW_SECONDS = 600.0


def link_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def _new_secret() -> tuple[str, str]:
    secret = secrets.token_urlsafe(32)  # 256 bits
    return secret, link_sha256(secret)


def _masked(email: str) -> str:
    """Enough of an address for an operator to recognise it in a warning, not to harvest it."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


@dataclass(frozen=True, slots=True)
class LinkedPayment:
    """What a link opens: the payment whose pass it shows, and the holder's name."""

    payment_id: str
    holder: str | None


class PassLinks:
    """Minting, emailing and opening private pass links."""

    def __init__(
        self,
        storage: Storage,
        mailer: Mailer | None,
        clock: Clock,
        *,
        public_url: str,
        gym_name: str,
        mail_from: str,
    ) -> None:
        self._storage = storage
        self._mailer = mailer
        self._clock = clock
        self._public_url = public_url.rstrip("/")
        self._gym_name = gym_name
        self._mail_from = mail_from
        self._resends = Throttle(1, RESEND_EVERY_SECONDS)
        self._clients = Throttle(RESENDS_PER_CLIENT, RESEND_CLIENT_WINDOW_SECONDS)

    def url(self, secret: str) -> str:
        return f"{self._public_url}/p/#{secret}"

    async def mint_in(self, session: AsyncSession, payment_id: str, now: datetime) -> str | None:
        """Inside the completing transaction: the new link's secret, or None if the payment
        already has one (a replayed event must not send a second email)."""
        secret, digest = _new_secret()
        inserted = await session.execute(
            self._storage.insert(
                PassLink,
                payment_id=payment_id,
                link_sha256=digest,
                created_at=now,
                attempted_at=now,
                mailed_at=None,
            )
            .on_conflict_do_nothing(index_elements=["payment_id"])
            .returning(PassLink.payment_id)
        )
        return secret if inserted.first() is not None else None

    async def mail_new(self, payment_id: str, secret: str | None) -> None:
        """After the completing transaction committed: email the payer their link. Never
        raises: the payment stands whatever happens to its email (the retry picks it up)."""
        if secret is None or self._mailer is None:
            return
        try:
            await self._mail_new(payment_id, secret)
        except Exception as error:
            log.warning("a pass email was not sent (%s); it is retried later", type(error).__name__)

    async def _mail_new(self, payment_id: str, secret: str) -> None:
        async with self._storage.reading() as session:
            row = (
                await session.execute(
                    select(User.email, User.name)
                    .join(Payment, Payment.user_id == User.id)
                    .where(Payment.id == payment_id)
                )
            ).one()
        await self._deliver(row.email, row.name, {payment_id: secret}, {})

    async def open(self, secret: str) -> LinkedPayment:
        """The payment a link secret belongs to; NotFound for any other string."""
        async with self._storage.reading() as session:
            row = (
                await session.execute(
                    select(PassLink.payment_id, User.name)
                    .join(Payment, Payment.id == PassLink.payment_id)
                    .join(User, User.id == Payment.user_id)
                    .where(PassLink.link_sha256 == link_sha256(secret))
                )
            ).one_or_none()
        if row is None:
            raise NotFound(
                "this pass link is not valid: it may be mistyped, or a newer email replaced it"
            )
        return LinkedPayment(row.payment_id, row.name)

    def client_may_resend(self, client: str) -> float | None:
        """None if this client may ask for another resend now; else the seconds to wait."""
        return self._clients.allow(client, self._clock.now())

    async def resend(self, email: str) -> None:
        """Email the address a fresh link to each of its still-valid passes (nothing if it has
        none, or if it was sent one a moment ago). Runs after the answer: failures are logged,
        never raised."""
        try:
            await self._resend(email)
        except Exception as error:
            log.warning("a pass resend failed: %s", type(error).__name__)

    async def _resend(self, email: str) -> None:
        now = self._clock.now()
        if self._mailer is None or self._resends.allow(email, now) is not None:
            return
        when = to_datetime(now)
        async with self._storage.reading() as session:
            user = await session.scalar(select(User).where(User.email == email))
            valid = [] if user is None else await _valid_passes(session, user.id, when)
        if user is None or not valid:
            return
        minted = {payment_id: _new_secret() for payment_id, _ in valid}
        async with self._storage.writing() as session:
            for payment_id, (_, digest) in minted.items():
                await session.execute(_upsert_link(self._storage, payment_id, digest, when))
        secrets_by_payment = {payment_id: secret for payment_id, (secret, _) in minted.items()}
        await self._deliver(user.email, user.name, secrets_by_payment, dict(valid))

    async def retry_unmailed(self) -> int:
        """Mint a fresh secret for each link whose email never went out, and send it; how
        many were tried."""
        if self._mailer is None:
            return 0
        now = to_datetime(self._clock.now())
        async with self._storage.reading() as session:
            due = (
                await session.execute(
                    select(PassLink.payment_id, PassLink.attempted_at).where(
                        PassLink.mailed_at.is_(None),
                        PassLink.attempted_at < now - MAIL_RETRY_AFTER,
                        PassLink.created_at > now - MAIL_RETRY_FOR,
                    )
                )
            ).all()
        sent = 0
        for row in due:
            secret, digest = _new_secret()
            async with self._storage.writing() as session:
                claimed = await session.execute(
                    update(PassLink)  # only if no other server claimed it meanwhile
                    .where(
                        PassLink.payment_id == row.payment_id,
                        PassLink.attempted_at == row.attempted_at,
                        PassLink.mailed_at.is_(None),
                    )
                    .values(link_sha256=digest, attempted_at=now)
                    .returning(PassLink.payment_id)
                )
                if claimed.first() is None:
                    continue
            await self.mail_new(row.payment_id, secret)
            sent += 1
        return sent

    @contextlib.asynccontextmanager
    async def retrying(self) -> AsyncIterator[None]:
        """Retry unmailed links on a timer for as long as the block runs."""
        async with in_background(self._retry_forever):
            yield

    async def _retry_forever(self) -> None:
        while True:
            await asyncio.sleep(RETRY_EVERY_SECONDS)
            try:
                await self.retry_unmailed()
            except Exception as error:
                log.warning("retrying pass emails failed: %s", type(error).__name__)

    async def _deliver(
        self,
        email: str,
        name: str | None,
        secrets_by_payment: dict[str, str],
        expiries: dict[str, datetime | None],
    ) -> None:
        assert self._mailer is not None
        message = pass_links_message(
            to=email,
            name=name,
            gym_name=self._gym_name,
            mail_from=self._mail_from,
            links=[
                PassLinkMail(self.url(secret), expiries.get(payment_id))
                for payment_id, secret in secrets_by_payment.items()
            ],
        )
        try:
            await self._mailer.send(message)
        except MailError as error:
            log.warning(
                "the pass email to %s was not sent (%s); it is retried later",
                _masked(email),
                error,
            )
            return
        await self._mark_mailed(secrets_by_payment.keys())

    async def _mark_mailed(self, payment_ids: Iterable[str]) -> None:
        now = to_datetime(self._clock.now())
        async with self._storage.writing() as session:
            await session.execute(
                update(PassLink)
                .where(PassLink.payment_id.in_(list(payment_ids)))
                .values(mailed_at=now)
            )


def _upsert_link(storage: Storage, payment_id: str, digest: str, now: datetime) -> Insert:
    insert = storage.insert(
        PassLink,
        payment_id=payment_id,
        link_sha256=digest,
        created_at=now,
        attempted_at=now,
        mailed_at=None,
    )
    return insert.on_conflict_do_update(
        index_elements=["payment_id"],
        set_={"link_sha256": digest, "attempted_at": now, "mailed_at": None},
    )


async def _valid_passes(
    session: AsyncSession, user_id: str, now: datetime
) -> list[tuple[str, datetime | None]]:
    """The user's completed payments whose pass can still open a gate (or has not been
    issued yet), oldest first, with the pass's expiry if it has one."""
    used = exists().where(UsedPass.pass_id == Pass.id)
    rows = await session.execute(
        select(Payment.id, Pass.expires_at)
        .outerjoin(Pass, Pass.payment_id == Payment.id)
        .where(
            Payment.user_id == user_id,
            Payment.status == "completed",
            Payment.refund_started_at.is_(None),
            or_(
                Pass.id.is_(None),
                (Pass.revoked_at.is_(None)) & (Pass.expires_at > now) & ~used,
            ),
        )
        .order_by(Payment.created_at)
    )
    return [(row.id, row.expires_at) for row in rows]
