"""Security headers on every response: what the browser may load, frame, sniff and send.

The pages keep the admin token and gate secrets in localStorage, so a script injected into
this origin could read them: the Content-Security-Policy allows scripts, styles and
connections from this origin only (no inline code, no CDN), images also as `data:` (the
member's QR) and `blob:`, media as `blob:` (the scanner's camera). The pages may not be framed
(clickjacking), content types are not sniffed, no Referer leaves the site, and only the
scanner page (`/scan`) may ask for the camera.

A header a handler set itself is left as it is. This is a `before_send` hook rather than an
entry in the app's `middleware` list: Litestar runs that list per route, so the router's own
404/405 answers and errors raised by a middleware would go out without these headers.
"""

from __future__ import annotations

from litestar.types import Message, Scope

__all__ = ["CONTENT_SECURITY_POLICY", "add_security_headers", "security_headers_for"]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
_PERMISSIONS = "camera=({camera}), microphone=(), geolocation=(), payment=(), usb=()"
_COMMON = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_SCANNER = {**_COMMON, "permissions-policy": _PERMISSIONS.format(camera="self")}
_ELSEWHERE = {**_COMMON, "permissions-policy": _PERMISSIONS.format(camera="")}
RawHeaders = tuple[tuple[bytes, bytes], ...]


def _encoded(headers: dict[str, str]) -> RawHeaders:
    return tuple((name.encode(), value.encode()) for name, value in headers.items())


_SCANNER_RAW = _encoded(_SCANNER)
_ELSEWHERE_RAW = _encoded(_ELSEWHERE)


def security_headers_for(path: str) -> dict[str, str]:
    """The headers a response to `path` carries; the camera only for the scanner page."""
    return dict(_SCANNER if _is_scanner(path) else _ELSEWHERE)


def _is_scanner(path: str) -> bool:
    return path == "/scan" or path.startswith("/scan/")


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar `before_send` hook: the headers of `security_headers_for(path)` that the
    response start lacks are added."""
    if message["type"] != "http.response.start":
        return
    wanted = _SCANNER_RAW if _is_scanner(scope["path"]) else _ELSEWHERE_RAW
    headers = list(message.get("headers", ()))
    present = {name.lower() for name, _ in headers}
    headers.extend(header for header in wanted if header[0] not in present)
    message["headers"] = headers
