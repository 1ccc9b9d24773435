"""`python -m benchmarks` (`make bench`): run every figure, print the table and a JSON line.

BENCH_SECONDS sets the length of each wrk run (default 10, the issue's minimum) and
BENCH_INPROC_SECONDS the length of each in-process loop (default 3); BENCH_ONLY runs a subset
(see benchmarks.only), e.g. BENCH_ONLY=I.summary, or BENCH_ONLY=B for the bound-pass
figures alone.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bound import measure as measure_bound
from benchmarks.floors import ed25519_verifies, pyjwt_decodes, write_transactions
from benchmarks.gate import GateRun, load_floor, load_gate
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
LAST_JSON = Path(__file__).with_name("last.json")
REPO = Path(__file__).resolve().parents[1]
# What a backend's /verify should reach, as a share of the hello-world floor F4.
M2_RATIO_TARGET = {"sqlite": 0.6, "postgres": 0.4}
M2_P99_TARGET_MS = {"sqlite": 5.0}
# "Throttling on" for T: the default-on limiter with a budget the benchmark never reaches.
RATE_LIMIT_ON = 100_000_000


class _Done(Exception):
    """The steps BENCH_ONLY selected have run."""


def step(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


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


def essential_floor(workspace: Workspace, when: str) -> Load:
    step(f"F5 essential-work /verify floor (msgspec, secret, Ed25519 JWT, SQLite), wrk, {when}")
    return load_floor(
        workspace, workspace.fresh_sqlite("f5-" + when.replace(" ", "-")), SECONDS
    ).allow


def floor_figures(report: Report, runs: list[Load]) -> None:
    """F5 from its runs before and after M2 on SQLite, pooled: P1 compares two servers
    measured at different moments, and on this VM a run drifts by 10-15 % within minutes,
    so the floor brackets the run it is the floor of."""
    pooled = Load(
        requests=sum(run.requests for run in runs),
        seconds=sum(run.seconds for run in runs),
        p50_ms=statistics.fmean(run.p50_ms for run in runs),
        p99_ms=statistics.fmean(run.p99_ms for run in runs),
        errors=sum(run.errors for run in runs),
    )
    _load_figures(report, "F5", "essential-work /verify floor", pooled)
    for n, run in enumerate(runs, 1):
        report.add(Figure(f"F5.rps.run{n}", f"  run {n} of {len(runs)}: requests/s", run.rps, "/s"))


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


def throttle_cost(report: Report, workspace: Workspace) -> None:
    step("T /verify on SQLite with throttling on (a budget no client reaches)")
    run = load_gate(
        workspace,
        workspace.fresh_sqlite("t"),
        SECONDS,
        name="t",
        with_denies=False,
        env={"GYMGATE_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_ON)},
    )
    report.add(
        Figure("T.rps", "/verify sqlite allows, throttling on: requests/s", run.allow.rps, "/s")
    )
    base = report.value("M2.sqlite.allow.rps")
    kept = ratio(run.allow.rps, base)
    cost = None if kept is None else 1 - kept
    report.add(
        Figure(
            "T.ratelimit_cost",
            "  throughput lost to throttling",
            cost,
            "x",
            "<= 0.10",
            at_most(cost, 0.10),
        )
    )


def verify_share_figures(report: Report) -> None:
    """P1, P5 and P6: /verify against its floors and its own median, in this run."""
    p1 = ratio(report.value("M2.sqlite.allow.rps"), report.value("F5.rps"))
    report.add(
        Figure(
            "P1.ratio", "M2 sqlite allows / F5 requests/s", p1, "x", ">= 0.85", at_least(p1, 0.85)
        )
    )
    p5 = ratio(report.value("M2.sqlite.allow.p99"), report.value("M2.sqlite.allow.p50"))
    report.add(
        Figure(
            "M2.sqlite.allow.p99_over_p50",
            "M2 sqlite allows: p99 / p50",
            p5,
            "x",
            "<= 3",
            at_most(p5, 3.0),
        )
    )
    p6 = ratio(report.value("M2.postgres.allow.rps"), report.value("M2.sqlite.allow.rps"))
    report.add(
        Figure(
            "P6.ratio", "M2 postgres / M2 sqlite allows/s", p6, "x", ">= 0.80", at_least(p6, 0.8)
        )
    )


def pipeline(
    report: Report, workspace: Workspace, backends: dict[str, str], fresh: dict[str, str]
) -> None:
    tokens = [token for _, token in workspace.tokens(40_000)]
    f2 = report.value("F2")
    for backend in backends:
        step(f"M1 in-process verify pipeline on {backend}")
        url = fresh[backend]
        per_s = asyncio.run(verify_pipeline(workspace.settings(url), tokens, INPROC_SECONDS))
        report.add(Figure(f"M1.{backend}", f"in-process verifies/s, {backend}", per_s, "/s"))
        f3 = report.value(f"F3.{backend}")
        floor = 1 / (1 / f2 + 1 / f3) if f2 and f3 else None
        share = ratio(per_s, floor)
        report.add(
            Figure(
                f"M1.{backend}.ratio",
                "  ratio to 1/(1/F2+1/F3)",
                share,
                "x",
                ">= 0.80",
                at_least(share, 0.8),
            )
        )


def _load_figures(report: Report, key: str, label: str, load: Load) -> None:
    report.add(Figure(f"{key}.rps", f"{label}: requests/s", load.rps, "/s"))
    report.add(Figure(f"{key}.p50", f"{label}: p50", load.p50_ms, "ms"))
    report.add(Figure(f"{key}.p99", f"{label}: p99", load.p99_ms, "ms"))
    if load.errors:
        report.notes.append(f"{key}: {load.errors} wrk errors or non-2xx answers")


def _gate_figures(report: Report, key: str, backend: str, run: GateRun) -> None:
    f4 = report.value("F4.rps")
    for kind, load, share in (
        ("allow", run.allow, run.allowed_share),
        ("deny", run.deny, run.denied_share),
    ):
        if load is None:
            continue
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
        elif key == "M3":
            base = report.value(f"M2.{backend}.{kind}.p99")
            report.add(Figure(f"{name}.p99", "  p99", load.p99_ms, "ms"))
            growth = ratio(load.p99_ms, base)
            report.add(
                Figure(
                    f"{name}.p99_vs_M2",
                    "  p99 / M2 p99",
                    growth,
                    "x",
                    "<= 1.15",
                    at_most(growth, 1.15),
                )
            )
        else:
            report.add(Figure(f"{name}.p99", "  p99", load.p99_ms, "ms"))
        wanted = "allow" if kind == "allow" else "deny"
        report.add(
            Figure(
                f"{name}.share",
                f"  share of audit rows that are {wanted}s",
                share,
                "x",
                "= 1.00",
                at_least(share, 0.999),
            )
        )
        if load.errors:
            report.notes.append(f"{name}: {load.errors} wrk errors or non-2xx answers")


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
            f5_runs: list[Load] = []
            if wanted("F5") or wanted("P1"):
                f5_runs.append(essential_floor(workspace, "before M2"))
            for backend in backends:
                if not (wanted(f"M2.{backend}") or wanted("P1") or wanted("P6")):
                    continue
                step(f"M2 /verify on {backend}: allows, then all-denies")
                url = workspace.fresh_sqlite("m2") if backend == "sqlite" else postgres.url  # type: ignore[union-attr]
                prepare = postgres.empty if backend == "postgres" else None  # type: ignore[union-attr]
                run = load_gate(workspace, url, SECONDS, name=f"m2-{backend}", prepare=prepare)
                _gate_figures(report, "M2", backend, run)
                rss.append(run.rss_mb)
                if backend == "sqlite" and f5_runs:
                    f5_runs.append(essential_floor(workspace, "after M2"))
            if f5_runs:
                floor_figures(report, f5_runs)
            if wanted("M2") or wanted("P1") or wanted("P6"):
                verify_share_figures(report)
            if wanted("O"):
                offline_figures(report, workspace)
            if wanted("T"):
                throttle_cost(report, workspace)
            if wanted("L"):
                step("P2 /verify and F5 paced at 100, 300, 600 req/s (open loop)")
                rate_figures(report, *rate_latencies(workspace, SECONDS))
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
                    step(f"M3 /verify on {backend} with history")
                    run = load_gate(workspace, url, SECONDS, name=f"m3-{backend}")
                    _gate_figures(report, "M3", backend, run)
                    rss.append(run.rss_mb)
                if kinds:
                    step(f"P3 gate at 100 req/s beside {', '.join(kinds)} floods on {backend}")
                    isolation_figures(report, backend, isolation(workspace, url, SECONDS, kinds))
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
            if not (wanted("M4") or wanted("M6")):
                raise _Done
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
            step("M6 /verify with two workers, SQLite")
            two = load_gate(
                workspace,
                workspace.fresh_sqlite("m6"),
                SECONDS,
                name="m6",
                workers=2,
                with_denies=False,
            )
            report.add(
                Figure(
                    "M6.rps", "/verify sqlite allows, 2 workers: requests/s", two.allow.rps, "/s"
                )
            )
            report.add(
                Figure(
                    "M6.ratio",
                    "  2 workers / 1 worker",
                    ratio(two.allow.rps, report.value("M2.sqlite.allow.rps")),
                    "x",
                )
            )
        except _Done:
            pass  # BENCH_ONLY: the selected figures are in
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
