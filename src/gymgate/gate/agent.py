"""The agent's loop: one scanned code in, one JSON decision out, online first.

Online while the server answers within `timeout`; otherwise it decides offline from its
local store with the same verifier code as the server, and keeps trying the server again
every few seconds. A background task syncs every `sync_every` seconds and as soon as the
server is back. Without a sync, or with data older than `max_offline`, it answers
"unavailable": the gate stays closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from gymgate.decisions import decision_body
from gymgate.gate.client import GateClient, GateRefused, ServerRejected, ServerUnreachable
from gymgate.gate.store import LocalStore, SyncedRules
from gymgate.gate.sync import sync_round
from gymgate.keystore import KeySet
from gymgate.services.checkin import CheckIn
from gymgate.tokens import TokenVerifier

__all__ = ["Agent", "AgentOptions", "parse_duration"]

log = logging.getLogger("gymgate.gate")
# After the server failed to answer, decide offline this long before asking it again.
RETRY_ONLINE_SECONDS = 5.0
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in '90', '90s', '15m', '24h' or '2d'; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m or 24h")
    return float(match[1]) * _UNIT[match[2]]


@dataclass(frozen=True, slots=True)
class AgentOptions:
    timeout: float = 1.5
    max_offline: float = 86400.0
    sync_every: float = 30.0
    on_allow: str | None = None
    proof_window: int | None = None  # None: the server's, as of the last sync


class _CorrectedClock:
    """This machine's clock moved by the server's offset as of the last sync."""

    def __init__(self, offset: float) -> None:
        self._offset = offset

    def now(self) -> float:
        return time.time() + self._offset


class Agent:
    """Decides scans for one gate; see the module docstring."""

    def __init__(self, client: GateClient, store: LocalStore, options: AgentOptions) -> None:
        self._client = client
        self._store = store
        self._options = options
        self._offline_until = 0.0
        self._checkin: tuple[SyncedRules, CheckIn] | None = None
        self._sync_now = asyncio.Event()

    async def run(self, lines: AsyncIterator[str], emit: Callable[[str], None]) -> None:
        """Answer every line until the input ends; sync in the background meanwhile."""
        syncing = asyncio.create_task(self._sync_forever())
        relays: set[asyncio.Task[None]] = set()
        try:
            async for line in lines:
                token = line.strip()
                if not token:
                    continue
                answer = await self.decide(token)
                emit(msgspec.json.encode(answer).decode())
                if answer.get("status") == "allow" and self._options.on_allow:
                    relay = asyncio.create_task(self._pulse(answer))
                    relays.add(relay)
                    relay.add_done_callback(relays.discard)
            await asyncio.gather(*relays)
        finally:
            syncing.cancel()

    async def decide(self, token: str) -> dict[str, Any]:
        """The answer for one scanned code, with its mode."""
        if time.monotonic() >= self._offline_until:
            try:
                return await self._online(token)
            except ServerUnreachable as error:
                log.warning("server unreachable (%s): deciding offline", error)
                self._offline_until = time.monotonic() + RETRY_ONLINE_SECONDS
            except GateRefused as refused:
                return _unavailable(f"the server refuses this gate: {refused}")
            except ServerRejected as error:
                return _unavailable(f"the server refused the scan: {error}")
        return await self.decide_offline(token)

    async def _online(self, token: str) -> dict[str, Any]:
        was_offline = self._offline_until > 0
        body = await self._client.verify(token)
        if was_offline:
            self._offline_until = 0.0
            self._sync_now.set()  # back online: upload what was decided meanwhile
        rules = self._store.rules()
        if body.get("status") == "allow" and rules is not None:
            expires = _epoch(body.get("expires_at"))
            self._store.record_online_use(body["pass_id"], time.time(), rules.gate, expires)
        return {**body, "mode": "online"}

    async def decide_offline(self, token: str) -> dict[str, Any]:
        rules = self._store.rules()
        if rules is None:
            return _unavailable(
                "the server is unreachable and this gate never synced: nothing to decide with"
            )
        age = time.time() - rules.synced_at
        if age > self._options.max_offline:
            return _unavailable(
                f"the server is unreachable and this gate's data is {age / 60:.0f} min old, "
                f"beyond its freshness limit ({self._options.max_offline / 60:.0f} min)"
            )
        decision = await self._check_in(rules)(token, rules.gate)
        body = msgspec.to_builtins(decision_body(decision))
        return {**body, "mode": "offline"}

    def _check_in(self, rules: SyncedRules) -> CheckIn:
        """The server's own check-in, on the local store, with the synced rules and keys."""
        if self._checkin is None or self._checkin[0] != rules:
            verifier = TokenVerifier.for_passes(
                issuer=rules.issuer,
                leeway_seconds=rules.leeway_seconds,
                pass_ttl_seconds=rules.pass_ttl_seconds,
                proof_window_seconds=self._options.proof_window or rules.proof_window_seconds,
            )
            keys = KeySet.from_jwks(rules.jwks)
            clock = _CorrectedClock(rules.clock_offset)
            self._checkin = (rules, CheckIn(self._store, verifier, keys, clock))
        return self._checkin[1]

    async def _sync_forever(self) -> None:
        while True:
            try:
                result = await sync_round(self._client, self._store)
                if result.uploaded:
                    log.info("uploaded %d offline decision(s)", result.uploaded)
            except (ServerUnreachable, GateRefused, ServerRejected) as error:
                log.warning("sync failed: %s", error)
            self._sync_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._sync_now.wait(), self._options.sync_every)

    async def _pulse(self, answer: dict[str, Any]) -> None:
        """Run --on-allow (say, a relay), without holding up the next scan."""
        command = self._options.on_allow
        assert command is not None
        about = {"GATE_PASS_ID": str(answer.get("pass_id", "")), "GATE_MODE": answer["mode"]}
        process = await asyncio.create_subprocess_shell(command, env={**os.environ, **about})
        if await process.wait() != 0:
            log.warning("--on-allow command exited %s", process.returncode)


def _unavailable(detail: str) -> dict[str, Any]:
    return {"status": "unavailable", "detail": detail}


def _epoch(iso: Any) -> int:
    return int(datetime.fromisoformat(str(iso)).timestamp())
