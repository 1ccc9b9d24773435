"""What gymgate needs from a mail transport; nothing SMTP-specific leaks past this.

A transport is one module implementing Mailer (like gymgate.payments.provider's
PaymentProvider): `send()` hands one message over, or raises MailError with nothing sent.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from gymgate.errors import GymgateError

__all__ = ["MailError", "Mailer"]


class MailError(GymgateError):
    """The mail could not be handed over (server down, refused, disk full); retry later."""


class Mailer(Protocol):
    """A place to hand email to."""

    def describe(self) -> str:
        """Where mail goes, for the start-up log (never a password)."""
        ...

    async def send(self, message: EmailMessage) -> None:
        """Hand one message over; MailError if it was not accepted."""
        ...
