"""The gate agent's HTTP client: /verify, /gate/state and /gate/decisions, errors mapped once.

GateRefused         401: "wrong gate secret", or "this gate was revoked"
ServerUnreachable   no connection, a timeout, a 5xx or a 429: decide offline meanwhile
ServerRejected      any other answer: the request itself was refused (a bug, say)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from gymgate.services.gates import REVOKED_GATE_DETAIL

__all__ = ["GateClient", "GateRefused", "ServerRejected", "ServerUnreachable"]


class GateRefused(Exception):
    """The server does not accept this gate's secret."""


class ServerUnreachable(Exception):
    """The server did not answer usefully in time."""


class ServerRejected(Exception):
    """The server answered, and refused the request."""


class GateClient:
    """One gate's calls to one gymgate server, each bounded by `timeout` seconds."""

    def __init__(
        self,
        server: str,
        secret: str,
        *,
        timeout: float,
        sync_timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,  # tests: the app in-process
    ) -> None:
        self._sync_timeout = sync_timeout  # uploads and state may be larger than a scan
        self._http = httpx.AsyncClient(
            base_url=server.rstrip("/"),
            headers={"Authorization": f"Bearer {secret}"},
            timeout=timeout,
            transport=transport,
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def verify(self, token: str) -> dict[str, Any]:
        """The server's decision (the /verify body)."""
        return await self._call("POST", "/verify", json={"token": token})

    async def enroll(self) -> str:
        """Trade the enrollment code's secret (this client's) for the gate's own."""
        body = await self._call("POST", "/gate/enroll", timeout=self._sync_timeout)
        return str(body["secret"])

    async def state(self, since: str | None, pending: int) -> dict[str, Any]:
        params: dict[str, Any] = {"pending": pending}
        if since:
            params["since"] = since
        return await self._call("GET", "/gate/state", params=params, timeout=self._sync_timeout)

    async def upload(self, decisions: list[dict[str, Any]]) -> dict[str, Any]:
        return await self._call(
            "POST", "/gate/decisions", json={"decisions": decisions}, timeout=self._sync_timeout
        )

    async def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        with _mapped_errors():
            response = await self._http.request(method, path, **options)
        if response.status_code == 401:
            detail = _detail(response)
            revoked = detail.startswith(REVOKED_GATE_DETAIL.split(":")[0])
            raise GateRefused("this gate was revoked" if revoked else "wrong gate secret")
        if response.status_code >= 500 or response.status_code == 429:
            raise ServerUnreachable(f"the server answered {response.status_code}")
        if response.status_code >= 400:
            raise ServerRejected(f"{response.status_code}: {_detail(response)}")
        body: dict[str, Any] = response.json()
        return body


@contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except httpx.TimeoutException:
        raise ServerUnreachable("no answer in time") from None
    except httpx.TransportError as error:
        raise ServerUnreachable(str(error) or type(error).__name__) from None


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))
    except ValueError:
        return response.text[:200]
