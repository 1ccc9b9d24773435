"""The member's journey over HTTP: one email per completed payment with a private link that
opens the same pass anywhere; /passes/resend tells nobody who is a member; /info."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from testkit.live_server import free_port
from testkit.smtp import SmtpInbox, links_in

from gymgate.api import create_app
from gymgate.clock import FrozenClock
from gymgate.models import PassLink
from gymgate.payments.stripe import StripeProvider, signature_header
from gymgate.runtime import Runtime
from gymgate.settings import Settings
from tests.api.helpers import pay, refund, scan
from tests.api.test_webhooks import SECRET, FakeCheckout, paid

Client = AsyncTestClient[Litestar]
PUBLIC_URL = "https://gym.example"


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with SmtpInbox() as server:
        yield server


@pytest.fixture
def mail_settings(settings: Settings, inbox: SmtpInbox) -> Settings:
    return settings.replace(smtp_url=inbox.url, public_url=PUBLIC_URL, gym_name="Iron Temple")


@pytest.fixture
async def client(mail_settings: Settings, clock: FrozenClock) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(mail_settings, clock=clock)) as test_client:
        yield test_client


def secret_of(link: str) -> str:
    assert link.startswith(PUBLIC_URL + "/p/#"), link
    return urlsplit(link).fragment


async def open_link(client: Client, secret: str) -> Any:
    return await client.post("/passes/by-link", json={"link": secret})


async def resend(client: Client, email: str) -> int:
    return (await client.post("/passes/resend", json={"email": email})).status_code


async def test_a_completed_payment_emails_one_link_that_opens_the_same_pass(
    client: Client, inbox: SmtpInbox
) -> None:
    payment = await pay(client, "ana@example.com", name="Ana Lima")
    [message] = await inbox.arrived(1)
    assert message["To"] == "ana@example.com"
    assert "Iron Temple" in message["Subject"]
    [link] = links_in(message)
    secret = secret_of(link)
    assert len(secret) >= 43, "at least 256 bits, URL-safe"

    opened = await open_link(client, secret)
    assert opened.status_code == 200, opened.text
    linked = opened.json()
    assert linked["holder"] == "Ana Lima"
    assert linked["status"] == "unused"
    assert linked["qr"].startswith("data:image/png;base64,")
    on_the_phone = await client.post("/generate_qr", json={"payment_id": payment["payment_id"]})
    assert on_the_phone.json()["pass_id"] == linked["pass_id"], "the same pass, one entry"
    again = (await open_link(client, secret)).json()
    assert again["pass_id"] == linked["pass_id"]
    assert again["expires_at"] == linked["expires_at"]


async def test_the_database_keeps_only_a_hash_of_the_link(
    client: Client, inbox: SmtpInbox, runtime: Runtime
) -> None:
    await pay(client)
    secret = secret_of(links_in((await inbox.arrived(1))[0])[0])
    async with runtime.storage.reading() as session:
        rows = (await session.execute(select(PassLink))).scalars().all()
    assert len(rows) == 1
    stored = json.dumps([vars(row) for row in rows], default=str)
    assert secret not in stored
    assert rows[0].mailed_at is not None


async def test_a_used_pass_opened_by_link_says_when_and_where(
    client: Client, inbox: SmtpInbox, gate_secret: str
) -> None:
    await pay(client)
    secret = secret_of(links_in((await inbox.arrived(1))[0])[0])
    first = (await open_link(client, secret)).json()
    assert (await scan(client, gate_secret, first["token"]))["status"] == "allow"

    later = (await open_link(client, secret)).json()
    assert later["status"] == "used"
    assert later["used_gate"] == "front-door"
    assert later["used_at"] is not None


async def test_payments_that_do_not_complete_send_no_email(
    client: Client, inbox: SmtpInbox
) -> None:
    await pay(client, simulate="failed")
    await pay(client, simulate="pending")
    await pay(client, "bea@example.com")  # a completed one, to know mail flows
    await inbox.arrived(1)
    assert [m["To"] for m in inbox.messages] == ["bea@example.com"]


async def test_a_link_of_a_refunded_payment_says_so(client: Client, inbox: SmtpInbox) -> None:
    payment = await pay(client)
    secret = secret_of(links_in((await inbox.arrived(1))[0])[0])
    await refund(client, payment["payment_id"])
    opened = await open_link(client, secret)
    assert opened.status_code == 409
    assert "refunded" in opened.json()["detail"]


@pytest.mark.parametrize("link", ["", "x" * 43, "not a link at all"])
async def test_a_wrong_link_is_404_with_a_sentence(client: Client, link: str) -> None:
    opened = await open_link(client, link)
    assert opened.status_code == 404
    assert "not valid" in opened.json()["detail"]


async def test_resend_answers_members_and_strangers_alike_and_mails_members_only(
    client: Client, inbox: SmtpInbox
) -> None:
    await pay(client, "ana@example.com")
    await pay(client, "ana@example.com")
    await inbox.arrived(2)

    member = await client.post("/passes/resend", json={"email": "Ana@Example.com "})
    stranger = await client.post("/passes/resend", json={"email": "nobody@example.com"})
    assert member.status_code == stranger.status_code == 202
    assert member.content == stranger.content
    assert member.headers.get("content-type") == stranger.headers.get("content-type")

    messages = await inbox.arrived(3)
    assert [m["To"] for m in messages] == ["ana@example.com"] * 3
    links = links_in(messages[2])
    assert len(links) == 2, "one email listing a link for each valid pass"
    opened = [(await open_link(client, secret_of(link))).json()["pass_id"] for link in links]
    assert len(set(opened)) == 2


async def test_resend_leaves_out_passes_that_can_no_longer_be_used(
    client: Client, inbox: SmtpInbox, gate_secret: str
) -> None:
    used = await pay(client)
    refunded = await pay(client)
    await pay(client)  # still valid
    token = (await client.post("/generate_qr", json={"payment_id": used["payment_id"]})).json()
    assert (await scan(client, gate_secret, token["token"]))["status"] == "allow"
    await refund(client, refunded["payment_id"])
    await inbox.arrived(3)

    assert (
        await client.post("/passes/resend", json={"email": "ana@example.com"})
    ).status_code == 202
    [link] = links_in((await inbox.arrived(4))[3])
    assert (await open_link(client, secret_of(link))).json()["status"] == "unused"


async def test_a_resend_replaces_the_older_links(client: Client, inbox: SmtpInbox) -> None:
    await pay(client)
    old = secret_of(links_in((await inbox.arrived(1))[0])[0])
    await client.post("/passes/resend", json={"email": "ana@example.com"})
    new = secret_of(links_in((await inbox.arrived(2))[1])[0])
    assert (await open_link(client, new)).status_code == 200
    assert (await open_link(client, old)).status_code == 404


async def test_resend_sends_at_most_one_email_a_minute_per_address(
    client: Client, inbox: SmtpInbox, clock: FrozenClock
) -> None:
    await pay(client)
    await inbox.arrived(1)
    for _ in range(3):
        assert (
            await client.post("/passes/resend", json={"email": "ana@example.com"})
        ).status_code == 202
    await inbox.arrived(2)
    clock.advance(61)
    await client.post("/passes/resend", json={"email": "ana@example.com"})
    await inbox.arrived(3)
    assert len(inbox.messages) == 3


async def test_resend_is_limited_per_client(client: Client) -> None:
    answers = [
        (await client.post("/passes/resend", json={"email": f"n{i}@example.com"})).status_code
        for i in range(11)
    ]
    assert answers == [202] * 10 + [429]
    refused = await client.post("/passes/resend", json={"email": "x@example.com"})
    assert "retry in" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) > 0


@pytest.mark.parametrize("email", ["", "ana", "ana@", "@example.com", "a b@example.com"])
async def test_resend_refuses_what_is_not_an_address(client: Client, email: str) -> None:
    response = await client.post("/passes/resend", json={"email": email})
    assert response.status_code == 400
    assert "email" in response.json()["detail"]


async def test_a_mail_server_that_is_down_neither_fails_the_payment_nor_loses_the_email(
    settings: Settings, clock: FrozenClock
) -> None:
    port = free_port()
    down = settings.replace(smtp_url=f"smtp://127.0.0.1:{port}", public_url=PUBLIC_URL)
    async with (
        AsyncTestClient(app=create_app(down, clock=clock)) as client,
        Runtime.open(down, clock=clock) as other_server,  # the retry runs on any server
    ):
        payment = await pay(client)
        assert payment["status"] == "completed"
        with SmtpInbox(port) as inbox:
            assert await other_server.pass_links.retry_unmailed() == 0, "not due yet"
            clock.advance(3 * 60)
            assert await other_server.pass_links.retry_unmailed() == 1
            [link] = links_in((await inbox.arrived(1))[0])
            assert (await open_link(client, secret_of(link))).status_code == 200
            clock.advance(3 * 60)
            assert await other_server.pass_links.retry_unmailed() == 0, "sent: done"


async def test_a_replayed_completion_webhook_sends_no_second_email(
    mail_settings: Settings, clock: FrozenClock, inbox: SmtpInbox
) -> None:
    stripe = StripeProvider(
        secret_key="sk_test_key",
        webhook_secret=SECRET,
        success_url="https://gym.example/",
        transport=FakeCheckout(),
    )
    app = create_app(mail_settings, clock=clock, provider=stripe)
    async with AsyncTestClient(app=app) as client:
        created = await client.post("/create_payment", json={"email": "ana@example.com"})
        assert created.json()["status"] == "pending"
        assert inbox.messages == [], "no email before the money arrives"
        body = paid("evt_1")
        for event_id_body in (body, body, paid("evt_2")):  # replayed, then re-sent anew
            header = signature_header(event_id_body, SECRET, int(clock.now()))
            answer = await client.post(
                "/webhooks/payment", content=event_id_body, headers={"Stripe-Signature": header}
            )
            assert answer.status_code == 200, answer.text
        [message] = await inbox.arrived(1)
        assert message["To"] == "ana@example.com"
        assert (await open_link(client, secret_of(links_in(message)[0]))).status_code == 200
    assert len(inbox.messages) == 1


async def test_info_tells_the_member_page_what_a_pass_costs(client: Client) -> None:
    info = (await client.get("/info")).json()
    assert info == {
        "gym_name": "Iron Temple",
        "price_cents": 1500,
        "currency": "EUR",
        "pass_ttl_seconds": 86400,
        "dev_mode": False,
        "payment_provider": "mock",
        "wallets": [],
        "pass_binding": "none",
        "proof_window_seconds": 30,
    }


async def test_in_dev_mode_without_smtp_mail_goes_to_an_outbox_only_its_owner_reads(
    settings: Settings,
    clock: FrozenClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    umask: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    dev = settings.replace(dev_mode=True, public_url=PUBLIC_URL)
    async with AsyncTestClient(app=create_app(dev, clock=clock)) as client:
        await pay(client)
        [saved] = list((tmp_path / "outbox").glob("*.eml"))
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "outbox").stat().st_mode) == 0o700
        message = message_from_bytes(saved.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        [link] = links_in(message)
        assert (await open_link(client, secret_of(link))).status_code == 200
