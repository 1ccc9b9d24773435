"""Bad input is a 4xx JSON answer with a human `detail`, never a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx import Response
from testkit.live_server import LiveServer

from tests.api.helpers import Client, admin_headers, pay

BIG = "x" * (20 * 1024)  # over the default 16 KiB body limit


def json_error_problem(response: Response, status: int) -> str | None:
    """Why the response is not a `status` JSON error with a human detail; None if it is."""
    if response.status_code != status:
        return f"{response.status_code} {response.text[:200]}"
    if not response.headers["content-type"].startswith("application/json"):
        return f"content-type {response.headers['content-type']}"
    detail = response.json().get("detail")
    if not isinstance(detail, str) or not detail.strip():
        return f"no detail in {response.text[:200]}"
    return None


def assert_json_error(response: Response, status: int) -> str:
    assert json_error_problem(response, status) is None, json_error_problem(response, status)
    detail: str = response.json()["detail"]
    return detail


BAD_BODIES: list[tuple[str, Any]] = [
    ("/create_payment", {}),
    ("/create_payment", {"email": 5}),
    ("/create_payment", {"email": None}),
    ("/create_payment", {"email": "not-an-email"}),
    ("/create_payment", {"email": ""}),
    ("/create_payment", {"email": "ana@example.com", "simulate": "refunded"}),
    ("/create_payment", {"email": "ana@example.com", "simulate": True}),
    ("/create_payment", {"email": "ana@example.com", "name": 7}),
    ("/create_payment", {"email": "x" * 250 + "@example.com"}),
    ("/create_payment", {"email": "ana@example.com", "name": "n" * 201}),
    ("/create_payment", ["ana@example.com"]),
    ("/create_payment", "ana@example.com"),
    ("/create_payment", None),
    ("/create_payment", {"email": [[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]}),
    ("/generate_qr", {}),
    ("/generate_qr", {"payment_id": 123}),
    ("/generate_qr", {"payment_id": ""}),
    ("/generate_qr", {"payment_id": "p" * 65}),
    ("/generate_qr", {"payment_id": "pay_x", "format": "gif"}),
    ("/generate_qr", {"payment_id": "pay_x", "format": None}),
    ("/generate_qr", {"payment": "pay_x"}),
    ("/generate_qr", [1, 2, 3]),
]


async def test_bad_json_bodies_are_400_with_detail(client: Client) -> None:
    problems = {}
    for path, body in BAD_BODIES:
        if problem := json_error_problem(await client.post(path, json=body), 400):
            problems[f"{path} {body!r}"] = problem

    assert problems == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "ana@example.com", "name": "Ana\x00"}, "name"),
        ({"email": "a\x00na@example.com"}, "email"),
    ],
)
async def test_a_control_character_in_email_or_name_is_refused_on_every_backend(
    client: Client, body: dict[str, str], field: str
) -> None:
    """Postgres cannot store NUL and SQLite can: refusing up front keeps both the same."""
    response = await client.post("/create_payment", json=body)

    assert assert_json_error(response, 400).startswith(field)


@pytest.mark.parametrize("query", [{"gate": "a\x00b"}, {"pass_id": "\x00"}])
async def test_a_nul_character_in_an_audit_filter_is_never_a_500(
    client: Client, query: dict[str, str]
) -> None:
    response = await client.get("/audit", params=query, headers=admin_headers())

    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_json_error(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        {"token": "x", "gate": 5},
        {"token": "x", "gate": "g" * 65},
        ["token"],
        "token",
    ],
)
async def test_a_bad_verify_body_is_400_with_detail(
    client: Client, gate_secret: str, body: Any
) -> None:
    response = await client.post(
        "/verify", json=body, headers={"Authorization": f"Bearer {gate_secret}"}
    )

    assert_json_error(response, 400)


POST_PATHS = ["/create_payment", "/generate_qr", "/verify"]


NOT_JSON = [b"this is not json", b"{", b'{"email": "a@b.co",}', b"", b"\xff\xfe\x00", b"NaN"]


async def test_bodies_that_are_not_json_are_400_with_detail(
    client: Client, gate_secret: str
) -> None:
    headers = {"content-type": "application/json", "authorization": f"Bearer {gate_secret}"}
    problems = {}
    for path in POST_PATHS:
        for content in NOT_JSON:
            response = await client.post(path, content=content, headers=headers)
            if problem := json_error_problem(response, 400):
                problems[f"{path} {content!r}"] = problem

    assert problems == {}


@pytest.mark.parametrize("path", POST_PATHS)
async def test_a_huge_body_is_413_with_detail(client: Client, gate_secret: str, path: str) -> None:
    body = json.dumps({"email": BIG, "payment_id": BIG, "token": BIG})

    response = await client.post(
        path,
        content=body,
        headers={"content-type": "application/json", "authorization": f"Bearer {gate_secret}"},
    )

    assert_json_error(response, 413)


@pytest.mark.e2e
def test_a_huge_chunked_body_without_a_length_is_413(live_server: LiveServer) -> None:
    """No Content-Length to refuse up front: the server must stop reading at the limit."""

    def chunks() -> Iterator[bytes]:
        yield b'{"email": "'
        for _ in range(40):
            yield b"x" * 1024
        yield b'@example.com"}'

    response = httpx.post(
        live_server.url + "/create_payment",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=10,
    )

    assert "content-length" not in response.request.headers
    assert_json_error(response, 413)


async def test_a_huge_verify_body_consumes_no_audit_row(client: Client, gate_secret: str) -> None:
    await client.post(
        "/verify",
        content=json.dumps({"token": BIG}),
        headers={"content-type": "application/json", "authorization": f"Bearer {gate_secret}"},
    )

    response = await client.get("/audit", headers=admin_headers())
    assert response.json()["items"] == []


async def test_an_unknown_format_names_the_choices(client: Client) -> None:
    payment = await pay(client)

    response = await client.post(
        "/generate_qr", json={"payment_id": payment["payment_id"], "format": "gif"}
    )

    detail = assert_json_error(response, 400)
    assert "format" in detail or "format" in json.dumps(response.json().get("extra"))


BAD_AUDIT_QUERIES = [
    {"limit": "0"},
    {"limit": "501"},
    {"limit": "ten"},
    {"result": "maybe"},
    {"reason": "tired"},
    {"since": "yesterday"},
    {"since": "2027-13-45T99:00:00Z"},
    {"before": "0"},
    {"before": "first"},
    {"before": str(2**63)},  # past BIGINT: the database must never see it
    {"limit": str(2**64)},
]


async def test_bad_audit_query_parameters_are_400_with_detail(client: Client) -> None:
    problems = {}
    for query in BAD_AUDIT_QUERIES:
        response = await client.get("/audit", params=query, headers=admin_headers())
        if problem := json_error_problem(response, 400):
            problems[str(query)] = problem

    assert problems == {}


@pytest.mark.parametrize("path", ["/payments/" + "p" * 300, "/passes/" + "é" * 40])
async def test_odd_ids_in_the_path_are_404(client: Client, path: str) -> None:
    response = await client.get(path)

    assert_json_error(response, 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/payments/pay_%00nul"), ("GET", "/passes/%00"), ("POST", "/payments/%00/refund")],
)
async def test_a_nul_character_in_an_id_is_a_4xx_not_a_500(
    client: Client, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=admin_headers())

    assert response.status_code in (400, 404), response.text
    assert_json_error(response, response.status_code)


async def test_an_unknown_path_is_404_json(client: Client) -> None:
    response = await client.get("/no/such/thing", headers={"accept": "application/json"})

    assert response.status_code == 404
    assert response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/create_payment"), ("PUT", "/verify")])
async def test_a_wrong_method_is_405_with_detail(client: Client, method: str, path: str) -> None:
    response = await client.request(method, path)

    assert_json_error(response, 405)


def assert_nothing_logged_as_an_error(caplog: pytest.LogCaptureFixture) -> None:
    """A client's bad input is not the server's error: no ERROR line, no traceback."""
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert loud == []


DEEP = 5000
DEEP_BODIES = {
    "arrays": b"[" * DEEP + b"]" * DEEP,
    "in-a-field": b'{"token": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    # Objects take six bytes a level: 2,500 levels still fit the default 16 KiB body limit.
    "objects": b'{"a":' * 2500 + b"1" + b"}" * 2500,
}


@pytest.mark.parametrize("path", [*POST_PATHS, "/webhooks/payment"])
@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
async def test_json_nested_thousands_deep_is_400_not_a_500(
    client: Client, caplog: pytest.LogCaptureFixture, path: str, body: bytes
) -> None:
    """Without a gate secret too: the body is refused before anything recurses into it."""
    response = await client.post(path, content=body, headers={"content-type": "application/json"})

    assert "nested too deeply" in assert_json_error(response, 400)
    assert_nothing_logged_as_an_error(caplog)


async def test_json_nested_a_few_levels_is_still_read(client: Client) -> None:
    """The depth limit refuses abuse, not structure: this is an ordinary validation 400."""
    nested = json.dumps({"email": {"a": [[{"b": [1, {"c": "[[[[{{{{"}]}]]}})

    response = await client.post(
        "/create_payment", content=nested, headers={"content-type": "application/json"}
    )

    detail = assert_json_error(response, 400)
    assert "nested" not in detail


@pytest.mark.parametrize(
    "since",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"],
    ids=["year-0", "year-10000"],
)
async def test_an_audit_since_outside_the_calendar_in_utc_is_400(
    client: Client, caplog: pytest.LogCaptureFixture, since: str
) -> None:
    response = await client.get("/audit", params={"since": since}, headers=admin_headers())

    assert "since" in assert_json_error(response, 400)
    assert_nothing_logged_as_an_error(caplog)


async def test_the_earliest_audit_since_in_utc_still_works(client: Client) -> None:
    response = await client.get(
        "/audit", params={"since": "0001-01-01T00:00:00Z"}, headers=admin_headers()
    )

    assert response.status_code == 200, response.text
