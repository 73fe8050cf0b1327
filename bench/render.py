"""The benchmark result as a terminal table, as Markdown (docs/benchmarks.md) and as a chart."""

from __future__ import annotations

from pathlib import Path

from bench.budget import Projection
from bench.results import SMALL_CALL_TEXTS, BenchResult, Latency


def _latency(value: Latency | None, sep: str) -> str:
    return f"{value.p50_ms:.1f}{sep}{value.p99_ms:.1f}" if value else ""


def _rows(result: BenchResult, sep: str) -> list[tuple[str, float, float, str, str]]:
    rows = [
        (s.name, s.sentences_per_s, s.x_pipeline, _latency(s.latency_short, sep), _latency(s.latency_128_tokens, sep))
        for s in result.setups
    ]
    rows += [
        (
            f"local model server {result.server_path}, concurrency {p.concurrency}",
            p.sentences_per_s,
            p.x_pipeline,
            "",
            "",
        )
        for p in result.server
    ]
    return rows


def _notes(result: BenchResult) -> list[str]:
    roof = result.roofline
    notes = [
        f"GEMM roofs: fp32 {roof.gemm_fp32_gflops:.0f} GFLOP/s, int8 {roof.gemm_int8_gops:.0f} GOP/s; useful work:"
        f" {roof.gflop_per_sentence:.2f} GFLOP per dev sentence"
    ]
    for s in result.setups:
        if s.achieved_gflops is not None and s.pct_of_fp32_roof is not None and s.cold_start_s is not None:
            notes.append(
                f"{s.name}: {s.achieved_gflops:.0f} GFLOP/s ({s.pct_of_fp32_roof:.1f} % of the fp32 roof, "
                f"{s.pct_of_int8_roof:.1f} % of the int8 roof); model_fn cold start {s.cold_start_s:.2f} s"
            )
    for path, rates in result.batch_sweep.items():
        best = max(rates, key=lambda size: rates[size])
        swept = ", ".join(f"{size}: {rate:.1f}" for size, rate in sorted(rates.items()))
        unit = result.batch_sweep_units[path]
        notes.append(f"batch-size sweep, predict_fn {path} ({unit} per forward pass: sent/s): {swept}; best {best}")
    for s in result.setups:
        if s.worst_case_s is not None:
            threads = int(result.machine["threads"])
            notes.append(
                Projection(
                    s.name.removeprefix("predict_fn "), s.worst_case_s, threads, result.worst_case_tokens
                ).describe()
            )
    return notes + _serving_notes(result)


def _serving_notes(result: BenchResult) -> list[str]:
    """The served path against offline, the local stack's overhead and the Lambda package."""
    notes: list[str] = []
    if result.served_vs_offline is not None:
        side = result.served_vs_offline
        rounds = ", ".join(
            f"{served:.1f} / {offline:.1f} ({100 * ratio:.0f} %)"
            for served, offline, ratio in zip(side.served, side.offline, side.ratios, strict=True)
        )
        notes.append(
            f"local model server {result.server_path} at concurrency {side.concurrency} against predict_fn "
            f"{result.server_path} offline, on the same {side.sentences} sentences, in alternation (served / offline "
            f"sent/s per round): {rounds}; median {100 * side.median_ratio:.0f} % of offline"
        )
        mix = "; ".join(
            f"round {n}: {side.sentences / calls:.1f} texts per call, "
            f"{small} of {calls} calls <= {SMALL_CALL_TEXTS} texts"
            for n, (calls, small) in enumerate(zip(side.calls, side.small_calls, strict=True), start=1)
        )
        notes.append(f"the served rounds' model calls (the server's /_local/stats): {mix}")
    if result.local_stack is not None:
        stack = result.local_stack
        notes.append(
            f"local stack (local API -> handler -> botocore -> model server), short text, sequential: p50 "
            f"{stack.api_p50_ms:.2f} ms, p99 {stack.api_p99_ms:.2f} ms ({stack.api_p99_ms / stack.api_p50_ms:.2f}x p50)"
            f" vs the model server alone on the body the handler sends {stack.server_p50_ms:.2f} ms:"
            f" {stack.added_p50_ms:.2f} ms added (the server on a body without the token budget:"
            f" {stack.server_bare_p50_ms:.2f} ms)"
        )
    if result.lambda_package is not None:
        lam = result.lambda_package
        size = f"zipped function {lam.zip_mb:.2f} MB; " if lam.zip_mb is not None else ""
        notes.append(f"Lambda: {size}cold import of handler.app {lam.import_ms:.0f} ms (Python {lam.import_python})")
        if lam.image_import_ms is not None:
            active, passthrough = lam.image_import_ms
            notes.append(
                f"Lambda cold import on Python 3.13 in the Lambda image (built package, fresh containers, p50 of 7): "
                f"{active:.0f} ms with TracingMode Active, {passthrough:.0f} ms with PassThrough"
            )
    return notes


def table(result: BenchResult) -> str:
    header = f"{'setup':<44} {'sent/s':>9} {'x pipeline':>10} {'short p50/p99 ms':>17} {'128-tok p50/p99 ms':>19}"
    lines = [header, "-" * len(header)]
    lines += [f"{n:<44} {r:>9.1f} {x:>10.2f} {s:>17} {t:>19}" for n, r, x, s, t in _rows(result, "/")]
    return "\n".join([*lines, "", *_notes(result)])


def markdown(result: BenchResult) -> str:
    lines = [
        "| setup | sentences/s | x pipeline per request | short p50 / p99 ms | 128-token p50 / p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {r:.1f} | {x:.2f} | {s} | {t} |" for n, r, x, s, t in _rows(result, " / ")]
    return "\n".join([*lines, "", *(f"- {note}" for note in _notes(result))]) + "\n"


def chart(result: BenchResult, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _rows(result, "/")
    timed = [s for s in result.setups if s.latency_short and s.latency_128_tokens]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    left.barh([r[0] for r in rows], [r[1] for r in rows], color="tab:blue")
    left.set_xlabel("sentences / s (SST-2 dev, 2 cores)")
    left.set_title("Throughput, full-size DistilBERT")
    left.invert_yaxis()
    width = 0.2
    series = {
        "short p50": [s.latency_short.p50_ms for s in timed if s.latency_short],
        "short p99": [s.latency_short.p99_ms for s in timed if s.latency_short],
        "128 tokens p50": [s.latency_128_tokens.p50_ms for s in timed if s.latency_128_tokens],
        "128 tokens p99": [s.latency_128_tokens.p99_ms for s in timed if s.latency_128_tokens],
    }
    for i, (label, values) in enumerate(series.items()):
        right.bar([x + i * width for x in range(len(timed))], values, width, label=label)
    right.set_xticks([x + 1.5 * width for x in range(len(timed))], [s.name for s in timed])
    right.set_ylabel("ms")
    right.set_title("Single-request latency")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
