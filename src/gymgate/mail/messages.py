"""The pass email: a short plain-text message (with an HTML twin) carrying private links."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

__all__ = ["PassLinkMail", "pass_links_message"]


@dataclass(frozen=True, slots=True)
class PassLinkMail:
    """One pass to link to: its private URL, and until when it is valid (if issued)."""

    url: str
    expires_at: datetime | None


def _line(link: PassLinkMail) -> str:
    if link.expires_at is None:
        return "valid 24 h from when you first open it"
    return f"valid until {link.expires_at:%Y-%m-%d %H:%M} UTC"


def pass_links_message(
    *,
    to: str,
    name: str | None,
    gym_name: str,
    mail_from: str,
    links: list[PassLinkMail],
) -> EmailMessage:
    """The email for one address: a link to each of its passes."""
    message = EmailMessage()
    message["From"] = formataddr((gym_name, mail_from))
    message["To"] = to
    message["Subject"] = f"Your {gym_name} pass" if len(links) == 1 else f"Your {gym_name} passes"
    message["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or None)
    greeting = f"Hello {name}," if name else "Hello,"
    lines = [f"{link.url}\n  ({_line(link)})" for link in links]
    message.set_content(
        f"{greeting}\n\n"
        f"Open this private link on your phone to show your {gym_name} pass at the turnstile:\n\n"
        + "\n\n".join(lines)
        + "\n\nKeep it to yourself: anyone with the link can use the pass. Each pass opens the"
        " gate once. Refunds: ask at the front desk.\n"
    )
    items = "".join(
        f'<li><a href="{html.escape(link.url)}">Show my pass</a> ({html.escape(_line(link))})</li>'
        for link in links
    )
    message.add_alternative(
        f"<p>{html.escape(greeting)}</p><p>Open this private link on your phone to show your "
        f"{html.escape(gym_name)} pass at the turnstile:</p><ul>{items}</ul><p>Keep it to "
        "yourself: anyone with the link can use the pass. Each pass opens the gate once. "
        "Refunds: ask at the front desk.</p>",
        subtype="html",
    )
    return message
