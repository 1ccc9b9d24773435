"""Mail through an SMTP server (`GYMGATE_SMTP_URL`), with the standard library's smtplib.

smtplib is blocking, so each message is sent on a worker thread: the event loop (and any
request in flight) never waits on the mail server, and no database transaction is open
while it answers. One connection per message is plenty for a gym's volume and survives a
mail server restart without reconnect logic. No new dependency is needed for that.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from gymgate.mail.mailer import MailError

__all__ = ["SmtpMailer"]

SMTP_TIMEOUT_SECONDS = 10.0


class SmtpMailer:
    """smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps:// (TLS)."""

    def __init__(
        self, url: str, *, helo_name: str = "localhost", timeout: float = SMTP_TIMEOUT_SECONDS
    ) -> None:
        parts = urlsplit(url)
        # Named, not looked up: smtplib's default (socket.getfqdn) is a DNS round trip per
        # message, 0.6 s on a machine without reverse DNS.
        self._helo_name = helo_name
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (465 if self._tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._timeout = timeout
        self._context: ssl.SSLContext | None = None

    def describe(self) -> str:
        return f"the SMTP server at {self._host}:{self._port}"

    def _tls_context(self) -> ssl.SSLContext:
        # Made once, when first needed: loading the CA bundle takes tens of milliseconds.
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    async def send(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(self._send, message)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"{self.describe()} did not take the mail: {error}") from None

    def _send(self, message: EmailMessage) -> None:
        client: smtplib.SMTP
        if self._tls:
            client = smtplib.SMTP_SSL(
                self._host,
                self._port,
                local_hostname=self._helo_name,
                timeout=self._timeout,
                context=self._tls_context(),
            )
        else:
            client = smtplib.SMTP(
                self._host, self._port, local_hostname=self._helo_name, timeout=self._timeout
            )
        with client:
            client.ehlo()
            if not self._tls and client.has_extn("starttls"):
                client.starttls(context=self._tls_context())
                client.ehlo()
            if self._user is not None:
                client.login(self._user, self._password or "")
            client.send_message(message)
