"""Wallet passes over HTTP: the .pkpass is signed so that openssl verifies it against the CA,
the Google link is a JWT the service account's key verifies, and the QR inside each is the
pass's token, which the gate admits once. Unconfigured wallets are absent and answer 404."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from testkit.qr_reader import qr_text
from testkit.wallet_credentials import (
    ISSUER_ID,
    PASS_TYPE_ID,
    SERVICE_ACCOUNT,
    TEAM_ID,
    WalletCredentials,
)

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.qr import qr_png
from gymgate.settings import Settings
from tests.api.helpers import pay, refund, scan

Client = AsyncTestClient[Litestar]
PUBLIC_URL = "https://gym.example"
WALLETS = ["apple", "google"]


@pytest.fixture(scope="module")
def credentials(tmp_path_factory: pytest.TempPathFactory) -> WalletCredentials:
    return WalletCredentials.make(tmp_path_factory.mktemp("wallet"))


@pytest.fixture
async def wallet_client(
    settings: Settings, credentials: WalletCredentials, clock: FrozenClock
) -> AsyncIterator[Client]:
    """An app offering both wallets."""
    configured = credentials.settings(settings).replace(
        public_url=PUBLIC_URL, gym_name="Iron Temple"
    )
    async with AsyncTestClient(app=create_app(configured, clock=clock)) as test_client:
        yield test_client


async def paid(client: Client) -> str:
    return str((await pay(client))["payment_id"])


async def wallet_pass(client: Client, wallet: str, payment_id: str) -> Any:
    return await client.post(f"/passes/wallet/{wallet}", json={"payment_id": payment_id})


def unzipped(pkpass: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pkpass)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def openssl_verifies(
    files: dict[str, bytes], ca: Path, directory: Path
) -> subprocess.CompletedProcess[str]:
    """`openssl smime -verify` of the detached signature over manifest.json, chained to `ca`."""
    for name in ("signature", "manifest.json"):
        (directory / name).write_bytes(files[name])
    return subprocess.run(
        [
            "openssl", "smime", "-verify", "-binary", "-inform", "DER",
            "-in", str(directory / "signature"),
            "-content", str(directory / "manifest.json"),
            "-CAfile", str(ca), "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )  # fmt: skip


async def test_info_lists_the_configured_wallets(wallet_client: Client) -> None:
    info = (await wallet_client.get("/info")).json()

    assert info["wallets"] == ["apple", "google"]


async def test_the_pkpass_is_signed_for_apple_and_its_qr_admits_once(
    wallet_client: Client, credentials: WalletCredentials, gate_secret: str, tmp_path: Path
) -> None:
    payment_id = await paid(wallet_client)
    issued = (await wallet_client.post("/generate_qr", json={"payment_id": payment_id})).json()

    response = await wallet_pass(wallet_client, "apple", payment_id)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apple.pkpass"
    assert response.headers["cache-control"] == "no-store"
    files = unzipped(response.content)
    assert {"pass.json", "manifest.json", "signature", "icon.png", "logo.png"} <= set(files)
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest, name  # noqa: S324
    verified = openssl_verifies(files, credentials.ca, tmp_path)
    assert verified.returncode == 0, verified.stderr
    assert "Verification successful" in verified.stderr

    card = json.loads(files["pass.json"])
    assert card["formatVersion"] == 1
    assert card["passTypeIdentifier"] == PASS_TYPE_ID
    assert card["teamIdentifier"] == TEAM_ID
    assert card["serialNumber"] == issued["pass_id"]  # the same pass, not a second one
    assert card["organizationName"] == "Iron Temple"
    assert card["expirationDate"] == issued["expires_at"]
    [barcode] = card["barcodes"]
    assert barcode["format"] == "PKBarcodeFormatQR"
    assert barcode["messageEncoding"] == "iso-8859-1"
    token = qr_text(qr_png(barcode["message"]))
    assert (await scan(wallet_client, gate_secret, token))["status"] == "allow"
    again = await scan(wallet_client, gate_secret, issued["token"])
    assert again == {**again, "status": "deny", "reason": "already_used"}


async def test_a_pkpass_with_a_changed_pass_json_fails_verification(
    wallet_client: Client, credentials: WalletCredentials, tmp_path: Path
) -> None:
    files = unzipped((await wallet_pass(wallet_client, "apple", await paid(wallet_client))).content)
    manifest = json.loads(files["manifest.json"])
    manifest["pass.json"] = hashlib.sha1(b"another pass").hexdigest()  # noqa: S324
    files["manifest.json"] = json.dumps(manifest).encode()

    assert openssl_verifies(files, credentials.ca, tmp_path).returncode != 0


async def test_the_google_link_is_signed_by_the_service_account_and_its_qr_admits_once(
    wallet_client: Client, credentials: WalletCredentials, gate_secret: str
) -> None:
    payment_id = await paid(wallet_client)
    issued = (await wallet_client.post("/generate_qr", json={"payment_id": payment_id})).json()

    response = await wallet_pass(wallet_client, "google", payment_id)

    assert response.status_code == 200, response.text
    url = response.json()["url"]
    assert url.startswith("https://pay.google.com/gp/v/save/")
    claims = jwt.decode(
        url.removeprefix("https://pay.google.com/gp/v/save/"),
        credentials.google_public_key,
        algorithms=["RS256"],
        audience="google",
        options={"verify_iat": False},  # iat is the test's frozen clock, in 2027
    )
    assert claims["iss"] == SERVICE_ACCOUNT
    assert claims["typ"] == "savetowallet"
    assert claims["origins"] == [PUBLIC_URL]
    [card] = claims["payload"]["genericObjects"]
    assert card["id"] == f"{ISSUER_ID}.{issued['pass_id']}"
    assert card["classId"].startswith(f"{ISSUER_ID}.")
    assert card["cardTitle"]["defaultValue"]["value"] == "Iron Temple"
    assert card["validTimeInterval"]["end"]["date"] == issued["expires_at"]
    assert card["barcode"]["type"] == "QR_CODE"
    token = qr_text(qr_png(card["barcode"]["value"]))
    assert (await scan(wallet_client, gate_secret, token))["status"] == "allow"
    assert (await scan(wallet_client, gate_secret, token))["reason"] == "already_used"


async def test_a_link_signed_by_another_key_does_not_verify(
    wallet_client: Client, tmp_path: Path
) -> None:
    url = (await wallet_pass(wallet_client, "google", await paid(wallet_client))).json()["url"]
    stranger = WalletCredentials.make(tmp_path / "stranger").google_public_key

    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(url.rsplit("/", 1)[1], stranger, algorithms=["RS256"], audience="google")


@pytest.mark.parametrize("wallet", WALLETS)
async def test_an_unknown_payment_is_404(wallet_client: Client, wallet: str) -> None:
    response = await wallet_pass(wallet_client, wallet, "pay_nobody")

    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize("wallet", WALLETS)
async def test_an_unpaid_payment_is_402(wallet_client: Client, wallet: str) -> None:
    pending = await pay(wallet_client, simulate="pending")

    response = await wallet_pass(wallet_client, wallet, pending["payment_id"])

    assert response.status_code == 402


@pytest.mark.parametrize("wallet", WALLETS)
async def test_a_refunded_payment_is_409(wallet_client: Client, wallet: str) -> None:
    payment_id = await paid(wallet_client)
    await refund(wallet_client, payment_id)

    response = await wallet_pass(wallet_client, wallet, payment_id)

    assert response.status_code == 409
    assert "refunded" in response.json()["detail"]


@pytest.mark.parametrize("wallet", WALLETS)
async def test_an_expired_pass_is_409(
    wallet_client: Client, clock: FrozenClock, wallet: str
) -> None:
    payment_id = await paid(wallet_client)
    issued = (await wallet_client.post("/generate_qr", json={"payment_id": payment_id})).json()
    clock.advance(datetime.fromisoformat(issued["expires_at"]).timestamp() - clock.now())

    response = await wallet_pass(wallet_client, wallet, payment_id)

    assert response.status_code == 409
    assert "expired" in response.json()["detail"]


async def test_without_wallet_settings_no_wallet_is_offered(client: Client) -> None:
    info = (await client.get("/info")).json()
    payment_id = await paid(client)

    apple = await wallet_pass(client, "apple", payment_id)
    google = await wallet_pass(client, "google", payment_id)

    assert info["wallets"] == []
    assert (apple.status_code, google.status_code) == (404, 404)
    assert "Apple Wallet passes are not offered here" in apple.json()["detail"]
    assert "Google Wallet passes are not offered here" in google.json()["detail"]
    status = await client.get(f"/payments/{payment_id}")
    assert status.json()["status"] == "completed"


async def test_only_the_configured_wallet_is_offered(
    settings: Settings, credentials: WalletCredentials, clock: FrozenClock
) -> None:
    google_only = settings.replace(
        google_wallet_key=credentials.google_key, google_wallet_issuer_id=ISSUER_ID
    )
    async with AsyncTestClient(app=create_app(google_only, clock=clock)) as client:
        info = (await client.get("/info")).json()
        payment_id = await paid(client)
        apple = await wallet_pass(client, "apple", payment_id)
        google = await wallet_pass(client, "google", payment_id)

    assert info["wallets"] == ["google"]
    assert (apple.status_code, google.status_code) == (404, 200)
