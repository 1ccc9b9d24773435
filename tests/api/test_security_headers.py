"""Every response, page or API, success or refusal, carries the security headers; only the
scanner page may use the camera."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from gymgate.api.app import create_app
from gymgate.api.security_headers import (
    CONTENT_SECURITY_POLICY,
    add_security_headers,
    security_headers_for,
)
from gymgate.clock import FrozenClock
from gymgate.settings import Settings
from tests.api.helpers import Client, new_pass

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
TEXT_BODY = {"content": b"email=a", "headers": {"content-type": "text/plain"}}


@pytest.mark.parametrize(
    ("method", "path", "options", "status"),
    [
        ("GET", "/", {}, 200),
        ("GET", "/admin/", {}, 200),
        ("GET", "/common.css", {}, 200),
        ("GET", "/health", {}, 200),
        ("GET", "/metrics", {}, 200),
        ("GET", "/schema/openapi.json", {}, 200),
        ("GET", "/payments/pay_unknown", {}, 404),
        ("GET", "/no-such-page", {}, 404),
        ("POST", "/no-such-call", {}, 405),  # answered by the router, before any route
        ("DELETE", "/health", {}, 405),
        ("POST", "/create_payment", TEXT_BODY, 415),  # refused by a middleware
        ("POST", "/create_payment", {"json": {"email": "not an address"}}, 400),
        ("GET", "/audit", {}, 401),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: Client, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    response = await client.request(method, path, **options)

    assert response.status_code == status, response.text
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED
    assert response.headers["permissions-policy"].startswith("camera=()")


@pytest.mark.parametrize("path", ["/scan/", "/scan"])
async def test_only_the_scanner_page_may_use_the_camera(client: Client, path: str) -> None:
    scanner = await client.get(path)
    member = await client.get("/")

    assert scanner.status_code == member.status_code == 200
    assert scanner.headers["permissions-policy"].startswith("camera=(self)")
    assert member.headers["permissions-policy"].startswith("camera=()")
    assert "microphone=()" in scanner.headers["permissions-policy"]


def test_the_policy_allows_only_this_origin_and_the_qr_and_camera_urls() -> None:
    directives = dict(
        (part.split(" ", 1)[0], part.split(" ", 1)[1])
        for part in CONTENT_SECURITY_POLICY.split("; ")
    )

    assert directives["default-src"] == directives["script-src"] == "'self'"
    assert directives["style-src"] == directives["connect-src"] == "'self'"
    assert directives["img-src"] == "'self' data: blob:"
    assert directives["media-src"] == "'self' blob:"
    assert directives["frame-ancestors"] == directives["base-uri"] == "'none'"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


async def test_a_header_the_response_set_itself_is_kept() -> None:
    own = (b"content-security-policy", b"default-src 'none'")
    message: Any = {"type": "http.response.start", "status": 200, "headers": [own]}
    scope: Any = {"type": "http", "path": "/health"}

    await add_security_headers(message, scope)

    names = [name for name, _ in message["headers"]]
    assert names.count(b"content-security-policy") == 1
    assert own in message["headers"]
    assert set(security_headers_for("/health")) <= {name.decode() for name in names}


async def test_a_scan_answered_by_the_gate_lane_carries_every_header(
    settings: Settings, clock: FrozenClock, gate_secret: str
) -> None:
    # A well-formed /verify skips the route (api/gate_lane.py): its answer must still carry
    # the security headers, the request id and, for an allowed origin, CORS.
    origin = "https://front-desk.example"
    app = create_app(replace(settings, cors_origins=(origin,)), clock=clock)
    async with AsyncTestClient(app) as client:
        issued = await new_pass(client)
        response = await client.post(
            "/verify",
            json={"token": issued["token"]},
            headers={"Authorization": f"Bearer {gate_secret}", "Origin": origin},
        )

    assert response.json()["status"] == "allow"
    assert {name: response.headers.get(name) for name in EXPECTED} == EXPECTED
    assert response.headers["access-control-allow-origin"] == origin
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.headers["content-type"] == "application/json"
