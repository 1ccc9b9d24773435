"""Sending email: one seam (Mailer), an SMTP server or an outbox folder behind it."""

from gymgate.mail.configured import configured_mailer
from gymgate.mail.mailer import Mailer, MailError
from gymgate.mail.messages import PassLinkMail, pass_links_message
from gymgate.mail.outbox import OutboxMailer
from gymgate.mail.smtp import SmtpMailer

__all__ = [
    "MailError",
    "Mailer",
    "OutboxMailer",
    "PassLinkMail",
    "SmtpMailer",
    "configured_mailer",
    "pass_links_message",
]
