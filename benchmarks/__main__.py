"""`python -m benchmarks` (`make bench`): run every figure, print the table and a JSON line.

BENCH_SECONDS sets the length of each wrk run (default 10, the issue's minimum) and
BENCH_INPROC_SECONDS the length of each in-process loop (default 3). Servers compared by a
ratio take turns instead (benchmarks.gate): BENCH_ROUNDS rounds (default 3) of turns half a
wrk run long, so each is loaded twice the minimum in all. BENCH_ONLY runs a subset
(see benchmarks.only), e.g. BENCH_ONLY=I.summary, or BENCH_ONLY=B for the bound-pass
figures alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

from testkit.databases import PostgresDatabase

from benchmarks.bound import measure as measure_bound
from benchmarks.floors import ed25519_verifies, pyjwt_decodes, write_transactions
from benchmarks.gate import Contender, Entry, lineup, pooled, rotated, take_turns
from benchmarks.isolation_report import isolation_figures, rate_figures
from benchmarks.issuance import load_issuance
from benchmarks.latency import FLOOD_KINDS, isolation, rate_latencies
from benchmarks.loadgen import Load, require_wrk, wrk
from benchmarks.offline import measure as measure_offline
from benchmarks.only import needs_wrk, wanted
from benchmarks.pipeline import verify_pipeline
from benchmarks.preload import preload_postgres, preload_sqlite, roll_up
from benchmarks.report import Figure, Report, at_least, at_most, ratio
from benchmarks.servers import hello_server
from benchmarks.workspace import Workspace, bench_postgres

SECONDS = float(os.environ.get("BENCH_SECONDS", "10"))
INPROC_SECONDS = float(os.environ.get("BENCH_INPROC_SECONDS", "3"))
# Servers compared by a ratio take turns (benchmarks.gate): this many rounds of turns of
# half a wrk run each.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
TURN_SECONDS = SECONDS / 2
# M1's in-process turns (F2, F3 and M1 each this long, in every round).
M1_TURN_SECONDS = 1.0
# P2's paced turns (a p99 of a 5 s turn at 100/s rests on its 5 worst scans).
P2_ROUNDS = ROUNDS
# M6 has no target: two rounds keep `make bench` under 15 minutes.
M6_ROUNDS = min(ROUNDS, 2)
LAST_JSON = Path(__file__).with_name("last.json")
REPO = Path(__file__).resolve().parents[1]
# What a backend's /verify should reach, as a share of the hello-world floor F4.
M2_RATIO_TARGET = {"sqlite": 0.6, "postgres": 0.4}
M2_P99_TARGET_MS = {"sqlite": 5.0}
# "Throttling on" for T: the default-on limiter with a budget the benchmark never reaches.
RATE_LIMIT_ON = 100_000_000


_STARTED = time.monotonic()


def step(message: str) -> None:
    """A progress line, with the minutes and seconds since the bench began: where the
    fifteen minutes go."""
    minutes, seconds = divmod(int(time.monotonic() - _STARTED), 60)
    print(f"bench: [{minutes:2d}:{seconds:02d}] {message}", file=sys.stderr, flush=True)


def floors(report: Report, workspace: Workspace, backends: dict[str, str]) -> None:
    _, token = workspace.tokens(1)[0]
    public_key = workspace.keyset.entries[0].public_key
    step("F1/F2 signature floors")
    ed25519_floor(report, workspace)
    report.add(
        Figure(
            "F2",
            "PyJWT EdDSA decodes/s of our token",
            pyjwt_decodes(token, public_key, INPROC_SECONDS),
            "/s",
        )
    )
    for backend, url in backends.items():
        step(f"F3 write transaction floor on {backend}")
        per_s = asyncio.run(write_transactions(workspace.settings(url), INPROC_SECONDS))
        report.add(
            Figure(f"F3.{backend}", f"used-pass + audit transactions/s, {backend}", per_s, "/s")
        )


def ed25519_floor(report: Report, workspace: Workspace) -> None:
    _, token = workspace.tokens(1)[0]
    public_key = workspace.keyset.entries[0].public_key
    report.add(
        Figure(
            "F1",
            "raw Ed25519 verifies/s (cryptography)",
            ed25519_verifies(token, public_key, INPROC_SECONDS),
            "/s",
        )
    )


def bound_figures(report: Report, workspace: Workspace) -> None:
    step("B passes bound to a phone: QR version, proof cost in the in-process pipeline")
    measured = measure_bound(workspace, INPROC_SECONDS)
    for curve, version, target in (
        ("ed25519", measured.qr_version_ed25519, 17),
        ("p256", measured.qr_version_p256, None),
    ):
        report.add(
            Figure(
                f"B.qr_version.{curve}",
                f"bound pass code (token~ts~sig), {curve} phone: QR version at EC M",
                version,
                "",
                f"<= {target}" if target else "",
                version <= target if target else None,
            )
        )
    plain, bound = measured.plain_per_s, measured.bound_per_s
    verify = measured.verify_per_s
    report.add(Figure("B.plain_per_s", "in-process decisions/s, plain passes", plain, "/s"))
    report.add(Figure("B.bound_per_s", "  the same, bound passes (in turn)", bound, "/s"))
    report.add(
        Figure("B.verify_per_s", "  raw Ed25519 verifies/s (F1's call, in turn)", verify, "/s")
    )
    cost = ratio(plain, bound)
    allowed = 1 + plain / verify  # one more Ed25519 verify per decision
    report.add(
        Figure(
            "B.proof_cost",
            "  plain/bound decisions/s (1 = free)",
            cost,
            "x",
            f"<= 1 + plain/verify = {allowed:.2f}",
            None if cost is None else cost <= allowed,
        )
    )


def hello_floor(report: Report, workspace: Workspace) -> None:
    step("F4 hello-world Litestar on uvicorn, wrk")
    with hello_server(workspace.root, {"PYTHONPATH": str(REPO)}) as server:
        wrk(server.url, "/hello", 2)  # warm-up
        load = wrk(server.url, "/hello", SECONDS)
    _load_figures(report, "F4", "hello world", load)


def offline_figures(report: Report, workspace: Workspace) -> None:
    step("O offline gate: local decisions/s, then one sync of every decision to a server")
    measured = measure_offline(workspace)
    rate = measured["offline_decisions_per_s"]
    report.add(Figure("O.decisions_per_s", "agent offline decisions/s (FULL sync)", rate, "/s"))
    share = ratio(rate, report.value("F1"))
    report.add(
        Figure("O.ratio_to_F1", "  ratio to F1", share, "x", ">= 0.80", at_least(share, 0.8))
    )
    report.add(
        Figure(
            "O.sync_seconds",
            f"sync of {measured['sync_decisions']:.0f} offline decisions",
            measured["sync_seconds"],
            "s",
        )
    )


def pipeline(
    report: Report, workspace: Workspace, backends: dict[str, str], fresh: dict[str, str]
) -> None:
    """M1 against its floor 1/(1/F2+1/F3), in rounds of one-second turns (F2, F3, M1) so
    each round's ratio compares the same moment of the machine; the median is reported."""
    tokens = [token for _, token in workspace.tokens(40_000)]
    share_per_round = len(tokens) // ROUNDS
    _, token = workspace.tokens(1)[0]
    public_key = workspace.keyset.entries[0].public_key
    for backend, f3_url in backends.items():
        step(f"M1 in-process verify pipeline on {backend}, {ROUNDS} rounds of F2, F3, M1 turns")
        m1s: list[float] = []
        floors: list[float] = []
        for n in range(ROUNDS):
            mine = tokens[n * share_per_round : (n + 1) * share_per_round]
            f3_run = write_transactions(
                workspace.settings(f3_url), M1_TURN_SECONDS, start=(n + 1) * 10_000_000
            )
            m1_run = verify_pipeline(workspace.settings(fresh[backend]), mine, M1_TURN_SECONDS)
            turns: dict[str, Callable[[], float]] = {
                "f2": partial(pyjwt_decodes, token, public_key, M1_TURN_SECONDS),
                "f3": partial(asyncio.run, f3_run),
                "m1": partial(asyncio.run, m1_run),
            }
            # The order rotates: whatever a turn leaves behind (Postgres flushing F3's
            # writes) falls on each of the three in turn.
            found = {name: turns[name]() for name in rotated(list(turns), n)}
            m1s.append(found["m1"])
            floors.append(1 / (1 / found["f2"] + 1 / found["f3"]))
        report.add(
            Figure(
                f"M1.{backend}",
                f"in-process verifies/s, {backend} (median of rounds)",
                statistics.median(m1s),
                "/s",
            )
        )
        report.add(
            Figure.floor(
                f"M1.{backend}.ratio",
                "  ratio to 1/(1/F2+1/F3) (median of rounds)",
                report.rounds(f"M1.{backend}.ratio", m1s, floors),
                0.8,
            )
        )


def _load_figures(report: Report, key: str, label: str, load: Load) -> None:
    report.add(Figure(f"{key}.rps", f"{label}: requests/s", load.rps, "/s"))
    report.add(Figure(f"{key}.p50", f"{label}: p50", load.p50_ms, "ms"))
    report.add(Figure(f"{key}.p99", f"{label}: p99", load.p99_ms, "ms"))
    if load.errors:
        report.notes.append(f"{key}: {load.errors} wrk errors or non-2xx answers")


def _gate_figures(
    report: Report, key: str, backend: str, ours: Contender, base: Contender | None = None
) -> None:
    """M2/M3 figures of one backend's contender; M3's p99 is compared with `base`, a server
    on a fresh database that took turns with it."""
    f4 = report.value("F4.rps")
    for kind, loads in (("allow", ours.allows), ("deny", ours.denies)):
        if not loads:
            continue
        load = pooled(loads)
        name = f"{key}.{backend}.{kind}"
        label = f"/verify {backend}, " + ("new passes" if kind == "allow" else "replays (denied)")
        report.add(Figure(f"{name}.rps", f"{label}: requests/s", load.rps, "/s"))
        r = ratio(load.rps, f4)
        target = M2_RATIO_TARGET[backend]
        report.add(
            Figure(
                f"{name}.ratio",
                "  ratio to F4",
                r,
                "x",
                f">= {target}",
                at_least(r, target) if key == "M2" else None,
            )
        )
        report.add(Figure(f"{name}.p50", "  p50", load.p50_ms, "ms"))
        p99_target = M2_P99_TARGET_MS.get(backend)
        if key == "M2" and p99_target is not None:
            report.add(
                Figure(
                    f"{name}.p99",
                    "  p99",
                    load.p99_ms,
                    "ms",
                    f"<= {p99_target:g} ms",
                    at_most(load.p99_ms, p99_target),
                )
            )
        else:
            report.add(Figure(f"{name}.p99", "  p99", load.p99_ms, "ms"))
        if base is not None:
            base_loads = base.allows if kind == "allow" else base.denies
            report.add(
                Figure(
                    f"{name}.base_p99",
                    "  p99 of a fresh database, same rounds",
                    pooled(base_loads).p99_ms,
                    "ms",
                )
            )
            growth = report.rounds(
                f"{name}.p99_vs_M2", [x.p99_ms for x in loads], [x.p99_ms for x in base_loads]
            )
            report.add(
                Figure.ceiling(
                    f"{name}.p99_vs_M2", "  p99 / fresh p99 (median of rounds)", growth, 1.15
                )
            )
        share = ours.share(kind)
        report.add(
            Figure(
                f"{name}.share",
                f"  share of audit rows that are {kind}s",
                share,
                "x",
                "= 1.00",
                at_least(share, 0.999),
            )
        )
        errors = sum(load.errors for load in loads)
        if errors:
            report.notes.append(f"{name}: {errors} wrk errors or non-2xx answers")


def _rates(loads: list[Load]) -> list[float]:
    return [load.rps for load in loads]


def gate_lineup(
    report: Report, workspace: Workspace, postgres: PostgresDatabase | None
) -> list[float]:
    """M2 (both backends), F5 and T in turns; P1, P4, P5, P6 from their rounds. Returns the
    M2 servers' RSS."""
    entries = [Entry("m2-sqlite", workspace.fresh_sqlite("m2"))]
    if wanted("F5") or wanted("P1"):
        entries.append(Entry("f5", workspace.fresh_sqlite("f5"), floor=True))
    if wanted("T"):
        throttled = {"GYMGATE_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_ON)}
        entries.append(Entry("t", workspace.fresh_sqlite("t"), env=throttled))
    if postgres is not None and (wanted("M2.postgres") or wanted("P6")):
        postgres.empty()
        entries.append(Entry("m2-postgres", postgres.url))
    names = ", ".join(entry.name for entry in entries)
    step(f"M2/F5/T /verify in {ROUNDS} rounds of {TURN_SECONDS:g} s turns: {names}")
    with lineup(workspace, entries) as contenders:
        by_name = {contender.name: contender for contender in contenders}
        m2 = {n.removeprefix("m2-"): c for n, c in by_name.items() if n.startswith("m2-")}
        take_turns(workspace, contenders, ROUNDS, TURN_SECONDS, denies=list(m2.values()))
        rss = [contender.server.rss_mb() for contender in m2.values()]
    sqlite = m2["sqlite"]
    for backend, contender in m2.items():
        _gate_figures(report, "M2", backend, contender)
    p5 = statistics.median(load.p99_ms / load.p50_ms for load in sqlite.allows)
    report.add(
        Figure.ceiling(
            "M2.sqlite.allow.p99_over_p50", "M2 sqlite allows: p99 / p50 (median of rounds)", p5, 3
        )
    )
    if "f5" in by_name:
        f5 = by_name["f5"].allows
        _load_figures(report, "F5", "essential-work /verify floor", pooled(f5))
        p1 = report.rounds("P1.ratio", _rates(sqlite.allows), _rates(f5))
        report.add(
            Figure.floor("P1.ratio", "M2 sqlite / F5 requests/s (median of rounds)", p1, 0.85)
        )
    if "t" in by_name:
        t = by_name["t"].allows
        report.add(
            Figure("T.rps", "/verify sqlite allows, throttling on: requests/s", pooled(t).rps, "/s")
        )
        kept = report.rounds("T.rps / M2.sqlite.allow.rps", _rates(t), _rates(sqlite.allows))
        cost = None if kept is None else 1 - kept
        report.add(
            Figure.ceiling(
                "T.ratelimit_cost", "  throughput lost to throttling (median of rounds)", cost, 0.1
            )
        )
    if "postgres" in m2:
        p6 = report.rounds("P6.ratio", _rates(m2["postgres"].allows), _rates(sqlite.allows))
        report.add(
            Figure.floor("P6.ratio", "M2 postgres / M2 sqlite allows/s (median of rounds)", p6, 0.8)
        )
    return rss


def history_figures(
    report: Report, workspace: Workspace, backend: str, url: str, fresh_url: str
) -> float:
    """M3: /verify on the preloaded database in turns with one on a fresh database; its RSS."""
    step(f"M3 /verify on {backend} with history, in turns with a fresh database")
    entries = [Entry(f"m3-{backend}", url), Entry(f"m3-fresh-{backend}", fresh_url)]
    with lineup(workspace, entries) as (history, fresh):
        take_turns(workspace, [history, fresh], ROUNDS, TURN_SECONDS, denies=[history, fresh])
        rss = history.server.rss_mb()
    _gate_figures(report, "M3", backend, history, fresh)
    return rss


def two_workers(report: Report, workspace: Workspace) -> None:
    """M6: two workers in turns with one, on SQLite."""
    step("M6 /verify with two workers in turns with one, SQLite")
    entries = [
        Entry("m6", workspace.fresh_sqlite("m6"), workers=2),
        Entry("m6-one", workspace.fresh_sqlite("m6-one")),
    ]
    with lineup(workspace, entries) as (two, one):
        take_turns(workspace, [two, one], M6_ROUNDS, TURN_SECONDS)
    report.add(
        Figure(
            "M6.rps", "/verify sqlite allows, 2 workers: requests/s", pooled(two.allows).rps, "/s"
        )
    )
    report.add(
        Figure(
            "M6.ratio",
            "  2 workers / 1 worker (median of rounds)",
            report.rounds("M6.ratio", _rates(two.allows), _rates(one.allows)),
            "x",
        )
    )


def issuance_figures(report: Report, workspace: Workspace) -> None:
    step("M4 POST /generate_qr png")
    issued = load_issuance(workspace, workspace.fresh_sqlite("m4"), SECONDS)
    report.add(
        Figure(
            "M4.rps",
            "/generate_qr png per second (1 worker)",
            issued.load.rps,
            "/s",
            ">= 200",
            at_least(issued.load.rps, 200),
        )
    )
    report.add(Figure("M4.p99", "  p99", issued.load.p99_ms, "ms"))
    report.add(Figure("M4.token_bytes", "  token length", issued.token_bytes, "B"))
    report.add(
        Figure(
            "M4.qr_version",
            "  QR version at EC M",
            issued.qr_version,
            "",
            "<= 12",
            issued.qr_version <= 12,
        )
    )


@contextlib.contextmanager
def _fresh_database(workspace: Workspace, backend: str) -> Iterator[str]:
    """A migrated, empty database of `backend` for the block (a Postgres one is dropped)."""
    if backend == "sqlite":
        yield workspace.fresh_sqlite("m3-fresh")
        return
    database = bench_postgres()
    assert database is not None  # the preloaded one is there
    database.create()
    try:
        yield database.url
    finally:
        database.drop()


def main() -> None:
    started = time.perf_counter()
    if needs_wrk():
        require_wrk()
    report = Report()
    rss: list[float] = []
    with tempfile.TemporaryDirectory(prefix="gymgate-bench-") as scratch:
        workspace = Workspace(Path(scratch))
        postgres = bench_postgres()
        if postgres is None:
            report.notes.append("Postgres not reachable on 127.0.0.1:5432: its figures skipped")
        else:
            postgres.create()
        try:
            backends = {"sqlite": workspace.fresh_sqlite("f3")}
            if postgres is not None:
                backends["postgres"] = postgres.url
            if wanted("F1") or wanted("F2") or wanted("F3") or wanted("M1"):
                floors(report, workspace, backends)
            if postgres is not None:
                postgres.empty()
            fresh = {
                "sqlite": workspace.fresh_sqlite("m1"),
                **({"postgres": postgres.url} if postgres else {}),
            }
            if wanted("M1"):
                pipeline(report, workspace, backends, fresh)
            if wanted("B"):
                bound_figures(report, workspace)
            if wanted("F4") or wanted("M2"):
                hello_floor(report, workspace)
            if any(wanted(k) for k in ("M2", "F5", "P1", "P6", "T")):
                rss += gate_lineup(report, workspace, postgres)
            if wanted("O"):
                offline_figures(report, workspace)
            if wanted("L"):
                step(
                    f"P2 /verify and F5 paced at 100, 300, 600 req/s (open loop), "
                    f"{P2_ROUNDS} rounds of {TURN_SECONDS:g} s turns"
                )
                rate_figures(report, *rate_latencies(workspace, TURN_SECONDS, P2_ROUNDS))
            for backend in backends:
                prefix = "I" if backend == "sqlite" else f"I.{backend}"
                kinds = [kind for kind in FLOOD_KINDS if wanted(f"{prefix}.{kind}")]
                if not (kinds or wanted(f"M3.{backend}")):
                    continue
                step(f"M3 preloading 1,000,000 audit rows, 100,000 used passes on {backend}")
                if backend == "sqlite":
                    url = workspace.fresh_sqlite("m3")
                    seconds = preload_sqlite(url.split(":///", 1)[1])
                else:
                    assert postgres is not None
                    postgres.empty()
                    url = postgres.url
                    seconds = preload_postgres(postgres)
                report.notes.append(f"M3 {backend} preload took {seconds:.1f} s")
                counted = roll_up(workspace.settings(url))
                report.notes.append(
                    f"M3 {backend} audit rollup of the preload took {counted:.1f} s"
                )
                if wanted(f"M3.{backend}"):
                    with _fresh_database(workspace, backend) as fresh_url:
                        rss.append(history_figures(report, workspace, backend, url, fresh_url))
                if kinds:
                    step(
                        f"P3 gate at 100 req/s idle, then beside {', '.join(kinds)} floods "
                        f"on {backend}, {ROUNDS} rounds of {TURN_SECONDS:g} s turns"
                    )
                    isolation_figures(
                        report, backend, isolation(workspace, url, TURN_SECONDS, ROUNDS, kinds)
                    )
            if rss:
                step("M5 server memory")
                report.add(
                    Figure(
                        "M5.rss",
                        "server RSS after M2/M3 (largest)",
                        max(rss),
                        "MB",
                        "< 150 MB",
                        max(rss) < 150,
                    )
                )
            if wanted("M4"):
                issuance_figures(report, workspace)
            if wanted("M6"):
                two_workers(report, workspace)
        except Exception as error:  # the figures so far are still worth printing
            report.notes.append(f"bench stopped early: {type(error).__name__}: {error}"[:2000])
        finally:
            if postgres is not None:
                postgres.drop()
    elapsed = time.perf_counter() - started
    print(report.table())
    for note in report.notes:
        print(f"note: {note}")
    document = report.as_json(elapsed)
    LAST_JSON.write_text(document + "\n")
    print(document)


if __name__ == "__main__":
    main()
