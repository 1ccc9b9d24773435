"""Who is calling: the client address that rate limits and the login throttle count against.

Behind a reverse proxy every request comes from the proxy, so the address has to come from
X-Forwarded-For, which is only as honest as whoever wrote it. It is read only when the direct
peer is one of `GYMGATE_TRUSTED_PROXIES`, from the right: each trusted proxy appends the
address it received from, so the rightmost address that is not a trusted proxy is the client;
everything to its left was sent by that client and may be invented.

An IPv6 client counts as its /64: one host usually holds a whole /64, and counting each of
its 2^64 addresses apart would let it walk around any per-address limit.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from litestar.types import Scope

__all__ = ["client_address", "trusted_networks"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FORWARDED_FOR = b"x-forwarded-for"


@functools.lru_cache(maxsize=8)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    """The networks of `GYMGATE_TRUSTED_PROXIES`; raises ValueError on one that is not."""
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies)


def client_address(scope: Scope, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The client's address as limits count it: IPv4 as is, IPv6 as its /64 network."""
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    networks = trusted_networks(trusted_proxies) if trusted_proxies else ()
    if networks and _is_trusted(_parse(peer), networks):
        peer = _rightmost_untrusted(peer, _forwarded_for(scope), networks)
    return _counted_as(peer)


def _rightmost_untrusted(peer: str, hops: list[str], networks: tuple[Network, ...]) -> str:
    address = peer
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            break  # not an address: keep the last one a trusted proxy vouched for
        address = str(parsed)
        if not _is_trusted(parsed, networks):
            break
    return address


def _forwarded_for(scope: Scope) -> list[str]:
    values = (value.decode("latin-1") for name, value in scope["headers"] if name == _FORWARDED_FOR)
    return [hop.strip() for hop in ",".join(values).split(",") if hop.strip()]


def _parse(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: Address | None, networks: Iterable[Network]) -> bool:
    return address is not None and any(address in network for network in networks)


def _counted_as(address: str) -> str:
    if ":" not in address:
        return address  # IPv4 (or a test client's name): the common case, nothing to parse
    parsed = _parse(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else address
