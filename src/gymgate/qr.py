"""Token → QR image bytes (PNG or SVG), sized for a phone screen held under a scanner."""

from __future__ import annotations

import base64
import io
from typing import Literal

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from qrcode.image.svg import SvgPathImage

__all__ = ["QrFormat", "qr_data_url", "qr_png", "qr_svg", "qr_version"]

QrFormat = Literal["json", "png", "svg"]

# M recovers from ~15% damage (a scratched screen, a glare spot) at a modest size cost.
_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
_BOX_SIZE = 8
_BORDER = 4  # the quiet zone the QR spec asks for


def _build(token: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=_ERROR_CORRECTION, box_size=_BOX_SIZE, border=_BORDER)
    code.add_data(token.encode("ascii"), optimize=0)
    code.make(fit=True)
    return code


def qr_png(token: str) -> bytes:
    """A black-on-white PNG of the token."""
    buffer = io.BytesIO()
    _build(token).make_image(image_factory=PilImage).save(buffer, kind="PNG")
    return buffer.getvalue()


def qr_svg(token: str) -> bytes:
    """A scalable SVG of the token (one path, no external references)."""
    buffer = io.BytesIO()
    _build(token).make_image(image_factory=SvgPathImage).save(buffer)
    return buffer.getvalue()


def qr_data_url(token: str) -> str:
    """The PNG as a data: URL, ready for an <img src>."""
    return "data:image/png;base64," + base64.b64encode(qr_png(token)).decode("ascii")


def qr_version(token: str) -> int:
    """The QR version (1-40) the token needs; smaller scans faster."""
    version: int = _build(token).version
    return version
