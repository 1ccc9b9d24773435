"""Short random identifiers: 96 bits, URL-safe, 16 characters, so tokens and QR codes stay small."""

from __future__ import annotations

import secrets

__all__ = ["new_id"]


def new_id(prefix: str = "") -> str:
    """A new unguessable id, e.g. `new_id("pay_")` → 'pay_3q2Y0lX9c1mZbQ8e'."""
    return prefix + secrets.token_urlsafe(12)
