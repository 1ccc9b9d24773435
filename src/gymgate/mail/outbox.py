"""Mail kept on disk, one .eml file per message: dev mode's stand-in for an SMTP server.

The files hold private pass links, so the folder is 0700 and each file 0600 (whatever the
umask), like keys/.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from email.message import EmailMessage
from pathlib import Path

from gymgate.mail.mailer import MailError

__all__ = ["OutboxMailer"]


class OutboxMailer:
    """Writes each message to DIR/<time>-<random>.eml, readable by its owner only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def describe(self) -> str:
        return f"the outbox folder {self.directory.resolve()} (one .eml file per email)"

    async def send(self, message: EmailMessage) -> None:
        try:
            await asyncio.to_thread(self._write, bytes(message))
        except OSError as error:
            raise MailError(f"could not write to {self.directory}: {error}") from None

    def _write(self, data: bytes) -> Path:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}.eml"
        path = self.directory / name
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(path, 0o600)  # os.open's mode is filtered by the umask; 0600 needs no more
        return path
