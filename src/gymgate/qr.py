"""Token → QR image bytes (PNG or SVG), sized for a phone screen held under a scanner.

PNGs (also the data URL of the JSON answer, the path every member takes) are encoded by
zxing-cpp's C++ encoder: the same standard symbol (byte mode, level M, the mask chosen by
the four penalty rules) in ~2 ms instead of ~25-50 ms for the pure-Python encoder, whose
eight trial masks were almost all of /generate_qr's time. SVGs stay with qrcode's path
writer.
"""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.constants
import zxingcpp
from PIL import Image
from qrcode.image.svg import SvgPathImage

__all__ = ["qr_data_url", "qr_png", "qr_svg", "qr_version"]


# M recovers from ~15% damage (a scratched screen, a glare spot) at a modest size cost.
_ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
_BOX_SIZE = 8
_BORDER = 4  # the quiet zone the QR spec asks for (zxing-cpp draws the same)


def _build(token: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=_ERROR_CORRECTION, box_size=_BOX_SIZE, border=_BORDER)
    code.add_data(token.encode("ascii"), optimize=0)
    code.make(fit=True)
    return code


def _symbol(token: str) -> Image.Image:
    """The symbol with its quiet zone, one pixel per module, black on white."""
    code = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    modules = zxingcpp.write_barcode_to_image(code, scale=1, add_quiet_zones=True)
    height, width = modules.shape
    if width != height or (width - 2 * _BORDER - 17) % 4:
        raise ValueError(f"unexpected QR symbol of {width}x{height} modules")
    pixels = bytes(memoryview(modules))  # type: ignore[arg-type]  # a buffer; stubs omit it
    image = Image.frombuffer("L", (width, height), pixels, "raw", "L", 0, 1)
    return image.convert("1", dither=Image.Dither.NONE)


def qr_png(token: str) -> bytes:
    """A black-on-white PNG of the token, _BOX_SIZE pixels per module."""
    symbol = _symbol(token)
    size = (symbol.width * _BOX_SIZE, symbol.height * _BOX_SIZE)
    buffer = io.BytesIO()
    symbol.resize(size, Image.Resampling.NEAREST).save(buffer, format="PNG")
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
    """The version (1-40) of the PNG's symbol; smaller scans faster."""
    return (_symbol(token).width - 2 * _BORDER - 17) // 4
