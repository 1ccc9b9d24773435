"""The mailer these settings ask for: SMTP when configured, an outbox in dev mode, or none."""

from __future__ import annotations

from pathlib import Path

from gymgate.mail.mailer import Mailer
from gymgate.mail.outbox import OutboxMailer
from gymgate.mail.smtp import SmtpMailer
from gymgate.settings import Settings

__all__ = ["OUTBOX_DIR", "configured_mailer"]

OUTBOX_DIR = Path("outbox")


def configured_mailer(settings: Settings) -> Mailer | None:
    """SMTP at GYMGATE_SMTP_URL; else, in dev mode, outbox/ under the working directory;
    else None (members get no email: the server says so at start-up)."""
    if settings.smtp_url is not None:
        return SmtpMailer(settings.smtp_url, helo_name=_domain(settings.mail_from))
    if settings.dev_mode:
        return OutboxMailer(OUTBOX_DIR)
    return None


def _domain(address: str) -> str:
    """The domain of the From address: the name this server gives in EHLO."""
    return address.rpartition("@")[2].strip(" >") or "localhost"
