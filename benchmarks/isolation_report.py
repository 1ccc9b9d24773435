"""P2 and P3 as figures: p99 ratios of paced /verify runs, with their targets."""

from __future__ import annotations

from benchmarks.latency import GATE_RATE, Isolation
from benchmarks.paced import Paced
from benchmarks.report import Figure, Report, median_of

__all__ = ["isolation_figures", "rate_figures"]

P2_TARGET = 1.3
P3_TARGET = 3.0


def rate_figures(
    report: Report, ours: dict[int, list[Paced]], floor: dict[int, list[Paced]]
) -> None:
    """L.*: gymgate's p99 over F5's at the same fixed rate (P2), the median of the rounds'
    ratios; each p99 shown is the median of its rounds."""
    for rate, rounds in ours.items():
        p99s = [paced.p99_ms for paced in rounds]
        floor_p99s = [paced.p99_ms for paced in floor[rate]]
        report.add(
            Figure(f"L.p99.{rate}", f"/verify paced at {rate}/s: p99", median_of(p99s), "ms")
        )
        report.add(
            Figure(
                f"L.floor_p99.{rate}", f"  F5 paced at {rate}/s: p99", median_of(floor_p99s), "ms"
            )
        )
        share = report.rounds(f"L.p99_ratio.{rate}", p99s, floor_p99s)
        report.add(
            Figure.ceiling(
                f"L.p99_ratio.{rate}", "  p99 ratio to F5 (median of rounds)", share, P2_TARGET
            )
        )
        for n, (paced, floor_paced) in enumerate(zip(rounds, floor[rate], strict=True), 1):
            _failures(report, f"L.{rate}.round{n}", paced)
            _failures(report, f"L.floor.{rate}.round{n}", floor_paced)


def isolation_figures(report: Report, backend: str, run: Isolation) -> None:
    """I.*: the gate's p99 at GATE_RATE beside each flood over the idle p99 of the same
    round (P3), the median of the rounds; each p99 shown is the median of its rounds."""
    prefix = "I" if backend == "sqlite" else f"I.{backend}"
    idle = [paced.p99_ms for paced in run.idle]
    report.add(
        Figure(
            f"{prefix}.idle.p99",
            f"gate at {GATE_RATE}/s, {backend}, idle: p99",
            median_of(idle),
            "ms",
        )
    )
    for n, paced in enumerate(run.idle, 1):
        _failures(report, f"{prefix}.idle.round{n}", paced)
    refused = sum(paced.statuses.get(503, 0) for paced in run.idle)
    for kind, floods in run.floods.items():
        if not floods:
            report.add(
                Figure(f"{prefix}.{kind}.p99_ratio", f"  beside {kind} flood", None, "x", "<= 3")
            )
            report.notes.append(
                f"{prefix}.{kind}: this branch has no such endpoint (404): not measured"
            )
            continue
        loads = [flood.flood for flood in floods if flood.flood is not None]
        if kind == "csv":
            # One export of 1 M rows outlasts a turn, so wrk finishes no request: what the
            # flood did is the bytes it streamed.
            streamed = sum(load.bytes for load in loads) / sum(load.seconds for load in loads)
            report.add(
                Figure(
                    f"{prefix}.csv.flood_mb_s", "  csv flood: MB/s streamed", streamed / 1e6, "MB/s"
                )
            )
        else:
            rps = sum(load.requests for load in loads) / sum(load.seconds for load in loads)
            report.add(
                Figure(f"{prefix}.{kind}.flood_rps", f"  {kind} flood: requests/s", rps, "/s")
            )
        p99s = [flood.gate.p99_ms for flood in floods]
        report.add(
            Figure(f"{prefix}.{kind}.p99", f"  gate p99 beside {kind} flood", median_of(p99s), "ms")
        )
        share = report.rounds(f"{prefix}.{kind}.p99_ratio", p99s, idle)
        report.add(
            Figure.ceiling(
                f"{prefix}.{kind}.p99_ratio",
                "    ratio to idle p99 (median of rounds)",
                share,
                P3_TARGET,
            )
        )
        for n, flood in enumerate(floods, 1):
            _failures(report, f"{prefix}.{kind}.round{n}", flood.gate)
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
