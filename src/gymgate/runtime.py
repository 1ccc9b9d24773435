"""The one composition root: every long-lived collaborator, built once and wired together.

The app lifespan, the CLI and the benchmarks all open a Runtime the same way:

    async with Runtime.open(settings) as runtime:
        decision = await runtime.check_in(token, gate)

and then call its use cases, which hold their own collaborators (Warehouse's services
style): nothing above this module unpacks storage, keys or clocks by hand.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from gymgate.clock import Clock, SystemClock
from gymgate.errors import StorageUnavailable
from gymgate.keystore import KeyStore, ReloadingKeySet
from gymgate.mail import Mailer, configured_mailer
from gymgate.payments import PaymentProvider, configured_provider
from gymgate.qr_pool import QrDrawer
from gymgate.services.audit import AuditLog
from gymgate.services.audit_rollup import AuditRollup
from gymgate.services.checkin import CheckIn
from gymgate.services.conflicts import Conflicts
from gymgate.services.gate_sync import GateSync
from gymgate.services.gates import Gates
from gymgate.services.pass_links import PassLinks
from gymgate.services.passes import Passes
from gymgate.services.payment_events import PaymentEvents
from gymgate.services.payment_lookup import PaymentLookup
from gymgate.services.payments import Payments
from gymgate.services.retention import AuditRetention
from gymgate.services.signing_keys import SigningKeys
from gymgate.services.sweep import UsedPassSweeper
from gymgate.services.wallet_passes import WalletPasses
from gymgate.settings import Settings
from gymgate.storage import Storage, open_storage
from gymgate.tokens import TokenVerifier
from gymgate.wallet import configured_wallets

__all__ = ["Runtime", "pass_verifier"]

log = logging.getLogger("gymgate")


def pass_verifier(settings: Settings) -> TokenVerifier:
    """The token rules every verifier of this installation applies."""
    return TokenVerifier.for_passes(
        issuer=settings.issuer,
        leeway_seconds=settings.leeway_seconds,
        pass_ttl_seconds=settings.pass_ttl_seconds,
        proof_window_seconds=settings.proof_window_seconds,
    )


@dataclass(frozen=True, slots=True)
class Runtime:
    """What one process runs on: settings, storage, keys, provider, and the use cases."""

    settings: Settings
    clock: Clock
    storage: Storage
    keys: ReloadingKeySet
    provider: PaymentProvider
    mailer: Mailer | None
    check_in: CheckIn
    passes: Passes
    payments: Payments
    payment_events: PaymentEvents
    pass_links: PassLinks
    audit: AuditLog
    audit_rollup: AuditRollup
    retention: AuditRetention
    gates: Gates
    gate_sync: GateSync
    conflicts: Conflicts
    sweeper: UsedPassSweeper
    payment_lookup: PaymentLookup
    signing_keys: SigningKeys
    qr: QrDrawer
    wallet_passes: WalletPasses

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        provider: PaymentProvider | None = None,
        mailer: Mailer | None = None,
        create_database: bool = False,
    ) -> AsyncIterator[Runtime]:
        """Open storage and keys, build the use cases; close everything on the way out.

        Only `gymgate serve` and `gymgate db upgrade` pass `create_database`: every other
        command must find an existing database, not make an empty one.
        """
        storage = open_storage(settings, create=create_database)
        try:
            runtime = cls.build(settings, storage, clock or SystemClock(), provider, mailer)
            try:
                yield runtime
            finally:
                await runtime.qr.close()
        finally:
            await storage.close()

    @classmethod
    def build(
        cls,
        settings: Settings,
        storage: Storage,
        clock: Clock,
        provider: PaymentProvider | None = None,
        mailer: Mailer | None = None,
    ) -> Runtime:
        store = KeyStore(settings.keys_dir)
        keys = ReloadingKeySet(store, settings.key_reload_seconds)
        provider = provider or configured_provider(settings)
        mailer = mailer or configured_mailer(settings)
        links = PassLinks(
            storage,
            mailer,
            clock,
            public_url=settings.public_url,
            gym_name=settings.gym_name,
            mail_from=settings.mail_from,
        )
        gates = Gates(storage, clock)
        passes = Passes(
            storage,
            keys,
            clock,
            issuer=settings.issuer,
            ttl_seconds=settings.pass_ttl_seconds,
            binding=settings.binding_mode,
        )
        return cls(
            settings=settings,
            clock=clock,
            storage=storage,
            keys=keys,
            provider=provider,
            mailer=mailer,
            check_in=CheckIn(storage, pass_verifier(settings), keys, clock),
            passes=passes,
            payments=Payments(
                storage,
                provider,
                clock,
                amount_cents=settings.price_cents,
                currency=settings.currency,
                links=links,
            ),
            payment_events=PaymentEvents(storage, provider, clock, links),
            pass_links=links,
            audit=AuditLog(storage),
            audit_rollup=AuditRollup(storage),
            gates=gates,
            gate_sync=GateSync(storage, gates, pass_verifier(settings), keys, clock),
            conflicts=Conflicts(storage),
            payment_lookup=PaymentLookup(storage, clock),
            signing_keys=SigningKeys(store, keys, clock),
            retention=AuditRetention(storage),
            sweeper=UsedPassSweeper(
                storage,
                clock,
                settings.cleanup_interval_seconds,
                audit_retention_days=settings.audit_retention_days,
            ),
            qr=QrDrawer(settings.qr_workers),
            wallet_passes=WalletPasses(
                passes, configured_wallets(settings), gym_name=settings.gym_name
            ),
        )

    async def clock_skew(self) -> float | None:
        """How far this process's clock is from the database's, in seconds, if it exceeds
        the leeway (None when within it): passes would be judged by the wrong time."""
        offset = await self.storage.clock_offset()
        return offset if abs(offset) > self.settings.leeway_seconds else None

    def say_where_mail_goes(self) -> None:
        """One start-up line: where pass emails go, or that members get none."""
        if self.mailer is None:
            log.warning(
                "GYMGATE_SMTP_URL is not set: members get no pass emails (set it, or use "
                "GYMGATE_DEV_MODE=1 to keep them in outbox/)"
            )
        else:
            log.info("pass emails go to %s", self.mailer.describe())

    async def warn_about_clock(self) -> None:
        """Say when this server's clock is off (`gymgate serve` calls it before serving);
        serve anyway, so that /ready says it too, until the clock is fixed."""
        try:
            skew = await self.clock_skew()
        except StorageUnavailable:
            return  # /ready says that
        if skew is not None:
            log.warning(
                "this server's clock is %.1f s %s the database's, more than the %d s leeway: "
                "fix its time (NTP); /ready answers 503 until then",
                abs(skew),
                "behind" if skew > 0 else "ahead of",
                self.settings.leeway_seconds,
            )
