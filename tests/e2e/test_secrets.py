"""Secrets: `gymgate serve` refuses unsafe set-ups, and a full flow leaves no private key,
gate secret, admin token or whole pass token in any log line or audit row."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select
from testkit.cluster import add_gates
from testkit.databases import sqlite_url
from testkit.live_server import LiveServer, free_port, gymgate_command, server_env

from gymgate.models import AuditEvent, Gate
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.e2e

STRONG_TOKEN = "a-strong-admin-token-for-tests"


def _serve(workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`gymgate serve` that is expected to refuse: it must exit on its own, quickly."""
    return subprocess.run(
        [*gymgate_command(), "serve", "--port", str(free_port())],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _base_env(workdir: Path, keys_dir: Path) -> dict[str, str]:
    # Only what a deployment would set: nothing from the test runner's GYMGATE_* leaks in.
    # The refusals come before the database is opened, so one backend shows them all.
    return {
        "PATH": "/usr/bin:/bin",
        "GYMGATE_DATABASE_URL": sqlite_url(workdir / "gymgate.db"),
        "GYMGATE_KEYS_DIR": str(keys_dir),
        **STRIPE,
    }


# A real install takes real payments: the mock provider is refused outside dev mode.
STRIPE = {
    "GYMGATE_PAYMENT_PROVIDER": "stripe",
    "GYMGATE_STRIPE_SECRET_KEY": "sk_test_not_a_real_key",
    "GYMGATE_STRIPE_WEBHOOK_SECRET": "whsec_not_a_real_secret",
    "GYMGATE_STRIPE_SUCCESS_URL": "https://gym.example/paid",
}


@pytest.mark.parametrize(
    ("admin_token", "key_mode", "message"),
    [
        (None, 0o600, "GYMGATE_ADMIN_TOKEN is not set"),
        ("short-token", 0o600, "GYMGATE_ADMIN_TOKEN is too short"),
        (STRONG_TOKEN, 0o640, "chmod 600"),
        (STRONG_TOKEN, 0o604, "chmod 600"),
        (STRONG_TOKEN, 0o666, "chmod 600"),
    ],
    ids=[
        "no-admin-token",
        "short-admin-token",
        "key-group-readable",
        "key-world-readable",
        "key-world-writable",
    ],
)
def test_serve_refuses_an_unsafe_set_up(
    tmp_path: Path, keys_dir: Path, admin_token: str | None, key_mode: int, message: str
) -> None:
    for private_key in keys_dir.glob("*.pem"):
        private_key.chmod(key_mode)
    env = _base_env(tmp_path, keys_dir)
    if admin_token is not None:
        env["GYMGATE_ADMIN_TOKEN"] = admin_token

    refused = _serve(tmp_path, env)

    assert refused.returncode != 0
    assert message in refused.stderr
    assert "Traceback" not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1  # one line, naming what to fix


def test_serve_refuses_the_mock_provider_outside_dev_mode(tmp_path: Path, keys_dir: Path) -> None:
    env = {**_base_env(tmp_path, keys_dir), "GYMGATE_ADMIN_TOKEN": STRONG_TOKEN}
    env["GYMGATE_PAYMENT_PROVIDER"] = "mock"

    refused = _serve(tmp_path, env)

    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines() == [
        "Error: GYMGATE_PAYMENT_PROVIDER=mock (the default) gives passes away for free: set "
        "GYMGATE_PAYMENT_PROVIDER=stripe, or GYMGATE_DEV_MODE=1 for a demo or test"
    ]


def test_dev_mode_serves_without_an_admin_token(tmp_path: Path, keys_dir: Path) -> None:
    env = {**_base_env(tmp_path, keys_dir), "GYMGATE_DEV_MODE": "1"}
    with LiveServer(tmp_path, env) as server:
        assert httpx.get(server.url + "/health").status_code == 200
        # ... but the operator API stays shut without a token to compare against.
        assert httpx.get(server.url + "/audit").status_code == 403


def _secrets_of(keys_dir: Path) -> list[str]:
    """Every spelling of our private keys that could leak: the PEM, its body lines and the
    raw 32 bytes in base64url and hex."""
    found: list[str] = []
    for path in keys_dir.glob("*.pem"):
        pem = path.read_text()
        key = serialization.load_pem_private_key(pem.encode(), None)
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        found += [pem.strip(), *(line for line in pem.splitlines() if "-----" not in line)]
        found += [base64.urlsafe_b64encode(raw).rstrip(b"=").decode(), raw.hex()]
    return found


async def test_a_full_flow_logs_no_secret_and_audits_no_token(
    tmp_path: Path, settings: Settings
) -> None:
    gate_secret = next(iter((await add_gates(settings.database_url, 1)).values()))
    env = server_env(settings, GYMGATE_LOG_LEVEL="DEBUG")  # the chattiest the server gets
    tokens: list[str] = []
    with LiveServer(tmp_path, env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            gate = {"Authorization": f"Bearer {gate_secret}"}
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            for number in range(2):
                payment = (
                    await client.post("/create_payment", json={"email": f"s{number}@example.com"})
                ).json()
                issued = await client.post(
                    "/generate_qr", json={"payment_id": payment["payment_id"]}
                )
                tokens.append(issued.json()["token"])
                await client.post(
                    "/generate_qr", json={"payment_id": payment["payment_id"], "format": "png"}
                )
            await client.post("/verify", json={"token": tokens[0]}, headers=gate)
            await client.post("/verify", json={"token": tokens[0]}, headers=gate)
            await client.post("/verify", json={"token": tokens[1][:-3] + "AAA"}, headers=gate)
            await client.post(
                "/verify",
                json={"token": tokens[1]},
                headers={"Authorization": f"Bearer {gate_secret}x"},
            )
            await client.post("/verify", json={"token": 12}, headers=gate)
            await client.post("/verify", content=b"{not json", headers=gate)
            await client.get("/audit", headers=admin)
            await client.get("/audit", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"})
            await client.get("/keys", headers=admin)
            await client.get("/ready")
            await client.post(f"/payments/{payment['payment_id']}/refund", headers=admin)
            await client.post("/verify", json={"token": tokens[1]}, headers=gate)
        log = server.log()
    async with Runtime.open(settings) as runtime, runtime.storage.reading() as session:
        audit = (await session.scalars(select(AuditEvent))).all()
        gates = (await session.scalars(select(Gate))).all()

    assert len(audit) == 5
    assert "/verify" in log  # the log did capture the flow
    audit_text = "\n".join(
        " ".join(str(getattr(row, c.name)) for c in AuditEvent.__table__.columns) for row in audit
    )
    gate_text = " ".join(f"{g.name} {g.secret_sha256}" for g in gates)
    secrets = {
        "gate secret": gate_secret,
        "admin token": ADMIN_TOKEN,
        **{f"pass token {n}": token for n, token in enumerate(tokens)},
        **{f"token signature {n}": token.rsplit(".", 1)[1] for n, token in enumerate(tokens)},
        **{f"private key part {n}": part for n, part in enumerate(_secrets_of(settings.keys_dir))},
    }
    leaks = {
        name: where
        for name, secret in secrets.items()
        for where, text in (("log", log), ("audit", audit_text), ("gates", gate_text))
        if secret in text
    }
    assert leaks == {}
