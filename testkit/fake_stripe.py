"""A Stripe-compatible stand-in on loopback: opens checkout sessions, serves a hosted checkout
page with Pay and Cancel buttons, and sends signed webhooks to gymgate, as Stripe would.

    with FakeStripe(webhook_url, secret) as stripe:   # stripe.url is GYMGATE_STRIPE_API_BASE

Webhooks go out before the member is redirected back, unless `hold_webhooks` is set: then
they wait for `release()`, so a test can see the "confirming your payment" state first.
"""

from __future__ import annotations

import html
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx

from gymgate.payments.stripe import signature_header

__all__ = ["FakeStripe"]


class FakeStripe:
    def __init__(self, webhook_url: str, webhook_secret: str) -> None:
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, str]] = {}
        self.hold_webhooks = False
        self._held: list[bytes] = []
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def open_session(self, form: dict[str, str]) -> dict[str, str]:
        with self._lock:
            number = next(self._numbers)
            session = {
                "id": f"cs_test_{number}",
                "url": f"{self.url}/pay/cs_test_{number}",
                "payment_intent": f"pi_test_{number}",
                "success_url": form.get("success_url", "/"),
                "email": form.get("customer_email", ""),
                "amount": form.get("line_items[0][price_data][unit_amount]", "0"),
                "currency": form.get("line_items[0][price_data][currency]", "eur"),
            }
            self.sessions[session["id"]] = session
        return session

    def finish(self, session_id: str, *, paid: bool) -> str:
        """The member paid (or gave up): the webhook, then where to send them back."""
        session = self.sessions[session_id]
        kind = "checkout.session.completed" if paid else "checkout.session.expired"
        item: dict[str, Any] = {"id": session_id, "payment_status": "paid" if paid else "unpaid"}
        if paid:
            item["payment_intent"] = session["payment_intent"]
        event = {"id": f"evt_{session_id}_{kind}", "type": kind, "data": {"object": item}}
        body = json.dumps(event).encode()
        if self.hold_webhooks:
            self._held.append(body)
        else:
            self._deliver(body)
        return session["success_url"]

    def release(self) -> None:
        """Send the webhooks held back so far."""
        held, self._held = self._held, []
        for body in held:
            self._deliver(body)

    def _deliver(self, body: bytes) -> None:
        header = signature_header(body, self.webhook_secret, int(time.time()))
        answer = httpx.post(
            self.webhook_url,
            content=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )
        answer.raise_for_status()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                session = fake.sessions.get(self.path.rsplit("/", 1)[-1])
                if not self.path.startswith("/pay/") or session is None:
                    return self._send(404, b"{}", "application/json")
                amount = int(session["amount"]) / 100
                page = _CHECKOUT.format(
                    id=html.escape(session["id"]),
                    email=html.escape(session["email"]),
                    amount=f"{amount:.2f} {session['currency'].upper()}",
                )
                self._send(200, page.encode(), "text/html; charset=utf-8")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/v1/checkout/sessions":
                    session = fake.open_session(form)
                    answer = {"id": session["id"], "url": session["url"]}
                    return self._send(200, json.dumps(answer).encode(), "application/json")
                action, _, session_id = self.path.strip("/").partition("/")
                if action in ("paid", "cancelled") and session_id in fake.sessions:
                    back = fake.finish(session_id, paid=action == "paid")
                    self.send_response(303)
                    self.send_header("Location", back)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self._send(404, b"{}", "application/json")

            def _send(self, status: int, body: bytes, media_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", media_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def __enter__(self) -> FakeStripe:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


_CHECKOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fake checkout</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><h1>Fake checkout</h1><p>Pay <strong>{amount}</strong> as {email}.</p>
<form method="post" action="/paid/{id}"><button id="checkout-pay">Pay</button></form>
<form method="post" action="/cancelled/{id}"><button id="checkout-cancel">Cancel</button></form>
</body></html>"""
