"""A real SMTP server (aiosmtpd) on a loopback port, keeping what it receives: the member's
inbox in tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from testkit.live_server import free_port

__all__ = ["SmtpInbox", "links_in"]

_LINK = re.compile(r"https?://\S+/p/#[A-Za-z0-9_-]+")


def links_in(message: EmailMessage) -> list[str]:
    """The pass links in a message's plain-text part, in order."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "the pass email has a plain-text part"
    return _LINK.findall(body.get_content())


class SmtpInbox:
    """`with SmtpInbox() as inbox:` an SMTP server at `inbox.url`; `inbox.messages` is what
    it accepted, oldest first."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        # A fixed server name: aiosmtpd would otherwise look its own up (a slow DNS call) on
        # every connection.
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, server_hostname="localhost"
        )

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self._messages.append(message)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """At least `count` messages, polling until a deadline (for sync tests)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)  # polling for mail to arrive, with a deadline
        assert len(self.messages) >= count, f"expected {count} emails, got {len(self.messages)}"
        return self.messages

    async def arrived(self, count: int) -> list[EmailMessage]:
        """Like wait_for, without blocking the event loop (for async tests)."""
        return await asyncio.to_thread(self.wait_for, count)

    def __enter__(self) -> SmtpInbox:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()
