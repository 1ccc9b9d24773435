"""QR images: the PNG and the data URL decode (zxing-cpp) back to the exact token."""

from __future__ import annotations

import base64
import io
import re
import xml.etree.ElementTree as ET

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image, ImageDraw
from testkit.qr_reader import qr_barcode, qr_text

from gymgate.keystore import KeyEntry, KeySet, kid_for
from gymgate.qr import qr_data_url, qr_png, qr_svg, qr_version
from gymgate.tokens import issue_token

SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"
NUMBER = r"(\d+(?:\.\d+)?)"
SQUARE = re.compile(rf"M{NUMBER},{NUMBER}H{NUMBER}V{NUMBER}H[\d.]+z")


@pytest.fixture(scope="module")
def token() -> str:
    """A real pass token, the size the service issues."""
    private = Ed25519PrivateKey.generate()
    kid = kid_for(private.public_key())
    keyset = KeySet((KeyEntry(kid, "", "active", private.public_key()),), private)
    return issue_token(
        keyset,
        issuer="gymgate",
        pass_id="3q2Y0lX9c1mZbQ8e",
        user_id="Zb7yQ1mX0c9lY2q3",
        issued_at=1_799_913_600,
        expires_at=1_800_000_000,
    )


def svg_root(token: str) -> ET.Element:
    return ET.fromstring(qr_svg(token))  # noqa: S314  (our own output, not untrusted input)


def test_png_is_a_png_image(token: str) -> None:
    png = qr_png(token)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_png_decodes_back_to_the_exact_token(token: str) -> None:
    assert qr_barcode(qr_png(token)).text == token


def test_data_url_decodes_back_to_the_exact_token(token: str) -> None:
    url = qr_data_url(token)

    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    png = base64.b64decode(url.removeprefix(prefix), validate=True)
    assert qr_barcode(png).text == token


def test_png_uses_medium_error_correction_and_a_quiet_zone(token: str) -> None:
    barcode = qr_barcode(qr_png(token))
    image = Image.open(io.BytesIO(qr_png(token))).convert("L")

    assert barcode.ec_level == "M"
    border = [image.getpixel((x, 0)) for x in range(image.width)]
    assert set(border) == {255}  # white all along the top edge


def test_reported_version_is_the_version_of_the_drawn_symbol(token: str) -> None:
    version = qr_version(token)

    assert 1 <= version <= 40
    extra = qr_barcode(qr_png(token)).extra
    assert isinstance(extra, dict)
    assert extra["Version"] == str(version)


def test_a_longer_token_needs_a_larger_version(token: str) -> None:
    assert qr_version(token + "x" * 200) > qr_version(token)


def test_svg_parses_as_xml_with_an_svg_root(token: str) -> None:
    root = svg_root(token)

    assert root.tag == f"{SVG_NAMESPACE}svg"
    assert root.get("viewBox") or (root.get("width") and root.get("height"))
    paths = root.findall(f".//{SVG_NAMESPACE}path")
    assert len(paths) == 1
    assert paths[0].get("d")


def test_svg_has_no_external_references(token: str) -> None:
    svg = qr_svg(token).decode()

    assert "href" not in svg
    assert "<script" not in svg


def test_svg_draws_a_symbol_that_decodes_to_the_exact_token(token: str) -> None:
    root = svg_root(token)
    path = root.find(f".//{SVG_NAMESPACE}path")
    assert path is not None

    assert qr_text(rasterise(path.get("d") or "", root.get("viewBox") or "")) == token


def rasterise(d: str, view_box: str, pixels_per_unit: int = 10) -> Image.Image:
    """Draw the path's rectangles ('Mx,yHx2Vy2Hxz', as qrcode's SvgPathImage writes them)."""
    squares = SQUARE.findall(d)
    assert squares, "the path draws no squares"
    assert SQUARE.sub("", d) == "", "the path holds commands this rasteriser does not know"
    _, _, width, height = (float(n) for n in view_box.split())
    size = (round(width * pixels_per_unit), round(height * pixels_per_unit))
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for left, top, right, bottom in squares:
        corners = [round(float(n) * pixels_per_unit) for n in (left, top, right, bottom)]
        draw.rectangle((corners[0], corners[1], corners[2] - 1, corners[3] - 1), fill=0)
    return image
