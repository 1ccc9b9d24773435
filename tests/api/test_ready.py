"""GET /ready: 200 only when the database answers and a key is signing; 503 with why."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gymgate.api import create_app
from gymgate.keystore import KeyStore
from gymgate.settings import Settings

Client = AsyncTestClient[Litestar]


async def test_ready_names_the_signing_key_when_the_database_answers(
    client: Client, keys_dir: Path
) -> None:
    response = await client.get("/ready")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "active_kid": KeyStore(keys_dir).load().active_kid,
    }
    assert response.headers["cache-control"] == "no-store"


@pytest.fixture
def verify_only_keys(keys_dir: Path) -> Path:
    """A keys directory without private keys: it can check passes, not issue them."""
    for private_key in keys_dir.glob("*.pem"):
        private_key.unlink()
    return keys_dir


async def test_ready_is_503_with_detail_without_a_private_signing_key(
    settings: Settings, verify_only_keys: Path
) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/ready")

    assert response.status_code == 503
    assert "no active signing key" in response.json()["detail"]
    assert response.headers["retry-after"] == "1"
