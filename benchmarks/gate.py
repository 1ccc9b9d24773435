"""M2, M3, M5, M6, F5, P1, P4, P6: POST /verify over HTTP from wrk, servers taking turns.

This VM drifts: one server measured twice a few minutes apart differs by 10-25 % (one run
saw F5 at 1,249 req/s, then 1,535 two minutes later). A ratio of two servers each measured
once carries that drift whole. Here the servers of a ratio run side by side and are loaded
in short turns: each round loads every one of them once, the order rotating from round to
round, so one round's ratio compares nearly the same machine. A figure's ratio is the median
of its rounds' ratios; the rounds themselves go into the notes, so a reader sees how much
the machine moved.

Every allow turn sends passes never shown to that server before; a deny turn replays passes
its server already admitted (every answer `already_used`). The audit rows each turn wrote are
counted, so a run that allowed what it should have denied (or the reverse) shows.
"""

from __future__ import annotations

import contextlib
import json
import statistics
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from testkit.live_server import LiveServer

from benchmarks.loadgen import Load, wrk
from benchmarks.servers import floor_server, gymgate_server
from benchmarks.workspace import GATE, Workspace, audit_counts, last_audit_id, used_pass_ids

__all__ = [
    "Contender",
    "Entry",
    "gate_bodies",
    "lineup",
    "pooled",
    "rotated",
    "take_turns",
]

T = TypeVar("T")

WARMUP_SECONDS = 2
WARMUP_TOKENS = 20_000
# Passes prepared per allow turn: the last turn's rate times this, plus a margin.
HEADROOM = 1.6


@dataclass(frozen=True, slots=True)
class Entry:
    """A server to start for a line-up: gymgate (with extra env, workers) or F5's floor."""

    name: str
    database_url: str
    floor: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    workers: int = 1


@dataclass
class Contender:
    """A started /verify server, and what its turns measured."""

    name: str
    server: LiveServer
    database_url: str
    secret: str
    allows: list[Load] = field(default_factory=list)
    denies: list[Load] = field(default_factory=list)
    rows: Counter[tuple[str, str]] = field(default_factory=Counter)  # (turn kind, result)
    sent: list[tuple[str, str]] = field(default_factory=list)
    rate: float = 0.0  # requests/s of the last allow turn (or warm-up): sizes the next one

    def load(
        self, workspace: Workspace, tokens: list[tuple[str, str]], s: float, kind: str
    ) -> Load:
        """One wrk run of `s` seconds, request n carrying token n (wrapping)."""
        bodies = workspace.root / f"{self.name}-{kind}.jsonl"
        bodies.write_bytes(b"\n".join(gate_bodies(tokens)) + b"\n")
        mark = last_audit_id(self.database_url)
        load = wrk(
            self.server.url,
            "/verify",
            s,
            method="POST",
            bodies=bodies,
            authorization=f"Bearer {self.secret}",
        )
        written = audit_counts(self.database_url, mark)
        for result in ("allow", "deny"):
            self.rows[kind, result] += written.get(result, 0)
        return load

    def share(self, kind: str) -> float | None:
        """Of the audit rows written in `kind` turns, the share that were `kind`s."""
        total = self.rows[kind, "allow"] + self.rows[kind, "deny"]
        return self.rows[kind, kind] / total if total else None


@contextlib.contextmanager
def lineup(workspace: Workspace, entries: Sequence[Entry]) -> Iterator[list[Contender]]:
    """Every entry's server started (each with a gate of its own), stopped on exit."""
    with contextlib.ExitStack() as stack:
        contenders = []
        for entry in entries:
            secret = workspace.add_gate(entry.database_url)
            server = (
                floor_server(workspace, entry.database_url, secret)
                if entry.floor
                else gymgate_server(
                    workspace.root,
                    {**workspace.server_env(entry.database_url), **entry.env},
                    entry.workers,
                )
            )
            stack.enter_context(server)
            contenders.append(Contender(entry.name, server, entry.database_url, secret))
        yield contenders


def take_turns(
    workspace: Workspace,
    contenders: Sequence[Contender],
    rounds: int,
    seconds: float,
    *,
    denies: Sequence[Contender] = (),
) -> None:
    """Warm every contender up, then `rounds` rounds of allow turns of `seconds` each; then,
    for `denies`, as many rounds of deny turns."""
    for contender in contenders:
        warm = contender.load(workspace, workspace.tokens(WARMUP_TOKENS), WARMUP_SECONDS, "warm")
        contender.rate = warm.rps
    for n in range(rounds):
        for contender in rotated(contenders, n):
            tokens = workspace.new_tokens(int(contender.rate * seconds * HEADROOM) + 2000)
            load = contender.load(workspace, tokens, seconds, "allow")
            contender.allows.append(load)
            contender.sent.extend(tokens)
            contender.rate = load.rps
    replays = {c.name: _admitted(c) for c in denies}
    for n in range(rounds):
        for contender in rotated(denies, n):
            contender.denies.append(
                contender.load(workspace, replays[contender.name], seconds, "deny")
            )


def pooled(loads: Sequence[Load]) -> Load:
    """Several runs as one: requests and seconds summed, percentiles averaged."""
    return Load(
        requests=sum(load.requests for load in loads),
        seconds=sum(load.seconds for load in loads),
        p50_ms=statistics.fmean(load.p50_ms for load in loads),
        p99_ms=statistics.fmean(load.p99_ms for load in loads),
        errors=sum(load.errors for load in loads),
        bytes=sum(load.bytes for load in loads),
    )


def gate_bodies(tokens: list[tuple[str, str]]) -> list[bytes]:
    """/verify request bodies, one per (pass_id, token)."""
    return [json.dumps({"token": token, "gate": GATE}).encode() for _, token in tokens]


def rotated(items: Sequence[T], n: int) -> list[T]:
    """Round n's order: each item goes first in its turn, so none always follows the same
    one."""
    shift = n % len(items) if items else 0
    return [*items[shift:], *items[:shift]]


def _admitted(contender: Contender) -> list[tuple[str, str]]:
    """The passes of `contender`'s allow turns that its server admitted."""
    used = used_pass_ids(contender.database_url)
    return [pair for pair in contender.sent if pair[0] in used]
