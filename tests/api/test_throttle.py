"""Failed authentication is throttled per client address, by default: wrong gate secrets and
admin tokens get 429 after the threshold, while credentials already seen working still work."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from litestar import Litestar

from gymgate.api import create_app
from gymgate.api.throttle import AuthThrottle
from gymgate.clock import FrozenClock
from gymgate.settings import Settings
from tests.api.helpers import ClientAt, admin_headers, running
from tests.conftest import START

THRESHOLD = Settings().auth_failures_per_minute
ATTACKER = "203.0.113.66"


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Litestar:
    """Default settings: no rate limit on /verify, the throttle on anyway."""
    assert settings.rate_limit_per_minute == 0
    return create_app(settings, clock=clock)


async def scan(client: httpx.AsyncClient, secret: str) -> httpx.Response:
    return await client.post(
        "/verify", json={"token": "x"}, headers={"Authorization": f"Bearer {secret}"}
    )


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert "failed authentications" in response.json()["detail"]


async def test_wrong_gate_secrets_get_429_after_the_threshold_while_a_working_gate_scans_on(
    app: Litestar, gate_secret: str
) -> None:
    async with running(app) as client_at:
        shared = client_at(ATTACKER)  # the attacker and the gate behind one proxy
        before = await scan(shared, gate_secret)
        guesses = []
        for n in range(30):
            guesses.append(await scan(shared, f"guess-{n}"))
            if n % 10 == 9:
                assert (await scan(shared, gate_secret)).status_code == 200
        elsewhere = await scan(client_at("198.51.100.1"), "guess-elsewhere")

    assert before.status_code == 200
    assert [r.status_code for r in guesses[:THRESHOLD]] == [401] * THRESHOLD
    for refused in guesses[THRESHOLD:]:
        assert_throttled(refused)
    assert elsewhere.status_code == 401  # other addresses are not throttled


async def test_a_credential_not_yet_seen_working_waits_out_the_throttle(
    app: Litestar, gate_secret: str, clock: FrozenClock
) -> None:
    """A throttled address cannot learn whether a guess is right: it is not even checked."""
    async with running(app) as client_at:
        attacker = client_at(ATTACKER)
        for n in range(THRESHOLD):
            await scan(attacker, f"guess-{n}")
        right_guess = await scan(attacker, gate_secret)
        clock.advance(60)
        next_minute = await scan(attacker, gate_secret)

    assert_throttled(right_guess)
    assert next_minute.status_code == 200


async def test_wrong_admin_tokens_get_429_after_the_threshold_while_the_operator_reads_on(
    app: Litestar,
) -> None:
    async with running(app) as client_at:
        shared = client_at(ATTACKER)
        before = await shared.get("/audit", headers=admin_headers())
        guesses = [
            await shared.get("/audit", headers={"Authorization": f"Bearer guess-{n:020}"})
            for n in range(30)
        ]
        after = await shared.get("/audit", headers=admin_headers())

    assert before.status_code == 200
    assert [r.status_code for r in guesses[:THRESHOLD]] == [403] * THRESHOLD
    for refused in guesses[THRESHOLD:]:
        assert_throttled(refused)
    assert after.status_code == 200


async def test_guesses_sent_all_at_once_are_checked_no_more_than_the_threshold(
    app: Litestar, gate_secret: str
) -> None:
    """Checking a secret may wait on the database: guesses in flight together count anyway."""
    async with running(app) as client_at:
        attacker = client_at(ATTACKER)
        guesses = await asyncio.gather(*(scan(attacker, f"guess-{n}") for n in range(30)))

    statuses = [r.status_code for r in guesses]
    assert statuses.count(401) == THRESHOLD
    assert statuses.count(429) == 30 - THRESHOLD


async def test_a_new_gates_first_burst_of_scans_is_not_refused(
    app: Litestar, gate_secret: str
) -> None:
    """Fifty scans at once with one secret the server has not seen yet: one credential."""
    async with running(app) as client_at:
        gate = client_at(ATTACKER)
        scans = await asyncio.gather(*(scan(gate, gate_secret) for _ in range(50)))

    assert {r.status_code for r in scans} == {200}


async def test_a_missing_credential_is_not_counted_as_a_guess(
    app: Litestar, gate_secret: str
) -> None:
    async with running(app) as client_at:
        client = client_at(ATTACKER)
        missing = [await client.post("/verify", json={"token": "x"}) for _ in range(30)]
        first_guess = await scan(client, "guess")

    assert {r.status_code for r in missing} == {401}
    assert first_guess.status_code == 401


async def test_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy(
    settings: Settings, clock: FrozenClock
) -> None:
    app = create_app(settings.replace(trusted_proxies=("10.0.0.0/8",)), clock=clock)
    async with running(app) as client_at:
        client = client_at(ATTACKER)
        guesses = [
            await client.post(
                "/verify",
                json={"token": "x"},
                headers={"Authorization": f"Bearer g{n}", "X-Forwarded-For": f"192.0.2.{n}"},
            )
            for n in range(THRESHOLD + 1)
        ]

    assert_throttled(guesses[THRESHOLD])  # every invented address counted as the peer's


async def test_forwarded_for_names_the_client_behind_a_trusted_proxy(
    settings: Settings, clock: FrozenClock
) -> None:
    app = create_app(settings.replace(trusted_proxies=("10.0.0.0/8",)), clock=clock)

    async def guess(client_at: ClientAt, forwarded_for: str) -> httpx.Response:
        return await client_at("10.1.2.3").post(
            "/verify",
            json={"token": "x"},
            headers={"Authorization": "Bearer guess", "X-Forwarded-For": forwarded_for},
        )

    async with running(app) as client_at:
        # The client invents a left part; the proxy appends the address it really saw.
        attacker = [await guess(client_at, f"192.0.2.{n}, {ATTACKER}") for n in range(THRESHOLD)]
        again = await guess(client_at, f"192.0.2.99, {ATTACKER}")
        neighbour = await guess(client_at, "198.51.100.7")

    assert {r.status_code for r in attacker} == {401}
    assert_throttled(again)
    assert neighbour.status_code == 401  # same proxy, another client: not throttled


def test_the_throttle_holds_at_most_its_capacity_of_addresses() -> None:
    throttle = AuthThrottle(limit=3, clock=FrozenClock(START), capacity=10_000)
    for n in range(50_000):
        address = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
        with throttle.attempt(address, f"wrong-{n}"):
            pass
        with throttle.attempt(address, f"credential-{n}") as attempt:
            attempt.worked = True

    assert throttle.addresses_held == 10_000
    assert throttle.credentials_held == 10_000
