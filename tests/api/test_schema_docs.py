"""/schema serves the OpenAPI JSON and no HTML docs UI: Litestar's UIs load unpinned scripts
from a CDN into the origin that keeps the admin token and gate secrets in localStorage."""

from __future__ import annotations

import pytest

from tests.api.helpers import Client


async def test_the_openapi_json_is_served(client: Client) -> None:
    response = await client.get("/schema/openapi.json")

    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert {"/verify", "/create_payment", "/generate_qr"} <= set(document["paths"])


@pytest.mark.parametrize(
    "path",
    ["/schema", "/schema/swagger", "/schema/redoc", "/schema/scalar", "/schema/elements"],
)
async def test_no_docs_page_loads_scripts(client: Client, path: str) -> None:
    response = await client.get(path)

    assert "<script" not in response.text.lower(), path
    assert "cdn" not in response.text.lower(), path
