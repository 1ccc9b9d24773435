"""Reading a QR code back from a picture, the way a gate's camera does: zxing-cpp, QR only.

Only QR codes are looked for. With every format on, zxing-cpp now and then also reports a
short one-dimensional code it finds among a QR code's modules, and a test expecting exactly
one code then fails for a reason no gate meets (the scanner page and the agent read QR only).
"""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

QR_ONLY = zxingcpp.barcode_formats_from_str("QRCode")


def qr_barcode(picture: bytes | Image.Image) -> zxingcpp.Barcode:
    """The one QR code in a picture (PNG bytes or an image); fails if there is not exactly one."""
    image = Image.open(io.BytesIO(picture)) if isinstance(picture, bytes) else picture
    found = zxingcpp.read_barcodes(image, formats=QR_ONLY)
    assert len(found) == 1, f"expected one QR code, found {len(found)}"
    barcode: zxingcpp.Barcode = found[0]
    return barcode


def qr_text(picture: bytes | Image.Image) -> str:
    """The text of the one QR code in a picture."""
    text: str = qr_barcode(picture).text
    return text
