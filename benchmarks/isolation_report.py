"""P2 and P3 as figures: p99 ratios of paced /verify runs, with their targets."""

from __future__ import annotations

from benchmarks.latency import GATE_RATE, Isolation
from benchmarks.paced import Paced
from benchmarks.report import Figure, Report, at_most, ratio

__all__ = ["isolation_figures", "rate_figures"]

P2_TARGET = 1.3
P3_TARGET = 3.0


def rate_figures(report: Report, ours: dict[int, Paced], floor: dict[int, Paced]) -> None:
    """L.*: gymgate's p99 over F5's at the same fixed rate (P2)."""
    for rate, paced in ours.items():
        report.add(Figure(f"L.p99.{rate}", f"/verify paced at {rate}/s: p99", paced.p99_ms, "ms"))
        report.add(
            Figure(f"L.floor_p99.{rate}", f"  F5 paced at {rate}/s: p99", floor[rate].p99_ms, "ms")
        )
        share = ratio(paced.p99_ms, floor[rate].p99_ms)
        report.add(
            Figure(
                f"L.p99_ratio.{rate}",
                "  p99 ratio to F5",
                share,
                "x",
                f"<= {P2_TARGET}",
                at_most(share, P2_TARGET),
            )
        )
        _failures(report, f"L.{rate}", paced)
        _failures(report, f"L.floor.{rate}", floor[rate])


def isolation_figures(report: Report, backend: str, run: Isolation) -> None:
    """I.*: the gate's p99 at GATE_RATE beside each flood over its idle p99 (P3)."""
    prefix = "I" if backend == "sqlite" else f"I.{backend}"
    idle = run.idle.p99_ms
    report.add(
        Figure(f"{prefix}.idle.p99", f"gate at {GATE_RATE}/s, {backend}, idle: p99", idle, "ms")
    )
    _failures(report, f"{prefix}.idle", run.idle)
    refused = sum(n for status, n in run.idle.statuses.items() if status == 503)
    for kind, flood in run.floods.items():
        if flood.flood is None:
            report.add(
                Figure(f"{prefix}.{kind}.p99_ratio", f"  beside {kind} flood", None, "x", "<= 3")
            )
            report.notes.append(
                f"{prefix}.{kind}: this branch has no such endpoint (404): not measured"
            )
            continue
        if kind == "csv":
            # One export of 1 M rows outlasts the flood, so wrk finishes no request: what
            # the flood did is the bytes it streamed.
            streamed = flood.flood.bytes / flood.flood.seconds / 1e6
            report.add(
                Figure(f"{prefix}.csv.flood_mb_s", "  csv flood: MB/s streamed", streamed, "MB/s")
            )
        else:
            report.add(
                Figure(
                    f"{prefix}.{kind}.flood_rps",
                    f"  {kind} flood: requests/s",
                    flood.flood.rps,
                    "/s",
                )
            )
        report.add(
            Figure(
                f"{prefix}.{kind}.p99", f"  gate p99 beside {kind} flood", flood.gate.p99_ms, "ms"
            )
        )
        share = ratio(flood.gate.p99_ms, idle)
        report.add(
            Figure(
                f"{prefix}.{kind}.p99_ratio",
                "    ratio to idle p99",
                share,
                "x",
                f"<= {P3_TARGET:g}",
                at_most(share, P3_TARGET),
            )
        )
        _failures(report, f"{prefix}.{kind}", flood.gate)
        refused += flood.gate.statuses.get(503, 0)
    report.add(
        Figure(
            f"{prefix}.gate_503",
            f"  gate answers 503 under floods, {backend}",
            refused,
            "",
            "= 0",
            refused == 0,
        )
    )


def _failures(report: Report, key: str, paced: Paced) -> None:
    others = {status: n for status, n in paced.statuses.items() if status != 200}
    if others:
        report.notes.append(f"{key}: gate answers other than 200: {others}")
