"""A payment provider that is slow to refund must not stall the gates: the refund holds no
transaction or connection while the provider thinks, so scans, issuing and other reads all
answer meanwhile, and a second refund of the same payment is refused while the first is
pending."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import cast

import httpx
import pytest
import uvicorn
from testkit.live_server import free_port

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.payments import MockPaymentProvider
from gymgate.settings import Settings
from gymgate.vocabulary import PaymentStatus
from tests.api.helpers import Client, admin_headers, new_pass, pay, scan

# More refunds pending at once than Postgres's pool has connections (10 + 10 overflow) and
# than SQLite's one writer: holding one per refund would starve the gate.
PENDING_REFUNDS = 24
SCANS = 20
PROVIDER_LIMIT_SECONDS = 60.0  # a provider that never answers ends the test, not the suite


class SlowRefunds(MockPaymentProvider):
    """Takes payments at once; each refund waits until the test lets the provider answer
    (a threading.Event: the server runs on a loop of its own, in another thread)."""

    def __init__(self) -> None:
        self.answer = threading.Event()
        self.waiting = 0

    async def refund(self, reference: str) -> PaymentStatus:
        self.waiting += 1
        deadline = time.monotonic() + PROVIDER_LIMIT_SECONDS
        try:
            # Polled: an asyncio.Event belongs to one loop, and the test's is not the server's.
            while not self.answer.is_set() and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        finally:
            self.waiting -= 1
        return "refunded"


@pytest.fixture
def provider() -> SlowRefunds:
    return SlowRefunds()


@pytest.fixture
def served(settings: Settings, clock: FrozenClock, provider: SlowRefunds) -> Iterator[str]:
    """The app with the slow provider behind real HTTP (uvicorn in a thread): the test's
    requests really are concurrent, as a gate's and an operator's are."""
    app = create_app(settings, clock=clock, provider=provider)
    config = uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive(), "the server stopped before it started"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)  # polling for start-up, not racing
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
async def slow_client(served: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served, timeout=60) as client:
        yield client


async def _until(condition: object, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_gates_keep_answering_while_refunds_wait_on_the_provider(
    gate_secret: str, slow_client: httpx.AsyncClient, provider: SlowRefunds
) -> None:
    client = cast(Client, slow_client)  # the helpers only use what both clients have
    refunded = [await pay(client, f"r{n}@example.com") for n in range(PENDING_REFUNDS)]
    for payment in refunded:  # each has a pass the refund must block
        issued = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
        assert issued.status_code == 201
    tokens = [(await new_pass(client, f"s{n}@example.com"))["token"] for n in range(SCANS)]
    refunds = [
        asyncio.create_task(
            client.post(f"/payments/{p['payment_id']}/refund", headers=admin_headers())
        )
        for p in refunded
    ]
    await _until(lambda: provider.waiting == PENDING_REFUNDS, "every refund to reach the provider")

    answers = [await scan(client, gate_secret, token) for token in tokens]
    again = await client.post(
        f"/payments/{refunded[0]['payment_id']}/refund", headers=admin_headers()
    )
    issue_pending = await client.post(
        "/generate_qr", json={"payment_id": refunded[1]["payment_id"]}
    )
    still_pending = sum(not task.done() for task in refunds)
    provider.answer.set()
    done = await asyncio.gather(*refunds)

    assert [answer["status"] for answer in answers] == ["allow"] * SCANS
    assert still_pending == PENDING_REFUNDS  # every scan answered before any refund returned
    assert again.status_code == 409
    assert "already under way" in again.json()["detail"]
    assert issue_pending.status_code == 409
    assert [response.status_code for response in done] == [200] * PENDING_REFUNDS
    assert {response.json()["status"] for response in done} == {"refunded"}
