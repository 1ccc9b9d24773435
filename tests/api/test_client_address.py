"""The client address limits count against: the peer, or X-Forwarded-For's rightmost
untrusted hop when the peer is a trusted proxy; IPv6 by /64."""

from __future__ import annotations

from typing import Any, cast

import pytest
from litestar.types import Scope

from gymgate.api.client_address import client_address

PROXIES = ("10.0.0.0/8", "2001:db8:ffff::1")


def scope(peer: str | None, *forwarded_for: str) -> Scope:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded_for]
    raw: dict[str, Any] = {
        "type": "http",
        "client": (peer, 40000) if peer else None,
        "headers": headers,
    }
    return cast(Scope, raw)


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # not a proxy: its header is ignored
        ("10.0.0.1", [], "10.0.0.1"),  # a proxy's own request
        ("10.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.1", ["1.2.3.4, 198.51.100.1"], "198.51.100.1"),  # the left part is the client's
        ("10.0.0.1", ["198.51.100.1, 10.9.9.9"], "198.51.100.1"),  # two proxies in a row
        ("10.0.0.1", ["1.2.3.4", "198.51.100.1"], "198.51.100.1"),  # the header sent twice
        ("10.0.0.1", ["10.2.2.2, 10.3.3.3"], "10.2.2.2"),  # all proxies: the furthest one
        ("10.0.0.1", ["1.2.3.4, not-an-ip"], "10.0.0.1"),  # garbage: the last vouched address
        ("10.0.0.1", ["::ffff:198.51.100.1"], "198.51.100.1"),
        ("10.0.0.1", ["2001:db8:1:2:3:4:5:6"], "2001:db8:1:2::/64"),
        ("2001:db8:ffff::1", ["198.51.100.1"], "198.51.100.1"),
        ("2001:db8:1:2::9", [], "2001:db8:1:2::/64"),
        (None, ["198.51.100.1"], "unknown"),
    ],
)
def test_the_client_address(peer: str | None, forwarded_for: list[str], expected: str) -> None:
    assert client_address(scope(peer, *forwarded_for), PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address(scope("10.0.0.1", "198.51.100.1")) == "10.0.0.1"


def test_two_addresses_of_one_ipv6_64_are_one_client() -> None:
    first = client_address(scope("2001:db8:1:2::1"))
    second = client_address(scope("2001:db8:1:2:ffff:ffff:ffff:ffff"))

    assert first == second != client_address(scope("2001:db8:1:3::1"))
