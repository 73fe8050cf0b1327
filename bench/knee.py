"""make load, part 2: the knee. Throughput and latency of the local stack at increasing client
concurrency, up to past saturation, with the share of requests shed (503). Writes a table to stdout
and ``docs/load-knee.md`` + ``docs/load-knee.png`` (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.load import run_load
from devstack.lambda_env import ROOT
from devstack.stack import DEFAULT_MODEL, LocalStack, free_port

LEVELS = (1, 2, 4, 8, 16, 32, 64)


def sweep(stack: LocalStack, per_level: int, max_seconds: float) -> list[dict[str, Any]]:
    rows = []
    for concurrency in LEVELS:
        print(f"concurrency {concurrency}: {per_level} requests ...", file=sys.stderr)
        summary = run_load(stack, per_level, concurrency, max_seconds).summary()
        summary["concurrency"] = concurrency
        summary["shed_pct"] = round(100 * summary["shed"] / summary["requests"], 2) if summary["requests"] else 0.0
        rows.append(summary)
    return rows


def table(rows: list[dict[str, Any]], environments: int) -> str:
    lines = [
        f"Local stack, {environments} Lambda environments; mixed single/batch requests, each answer checked.",
        "",
        "| concurrency | requests | req/s | texts/s | p50 ms | p99 ms | shed % | errors | mismatches |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['concurrency']} | {r['requests']} | {r['requests_per_s']} | {r['texts_per_s']} | {r['p50_ms']} "
            f"| {r['p99_ms']} | {r['shed_pct']} | {r['errors']} | {r['mismatches']} |"
        )
    return "\n".join(lines) + "\n"


def chart(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [r["concurrency"] for r in rows]
    fig, left = plt.subplots(figsize=(8, 4.5))
    left.plot(levels, [r["requests_per_s"] for r in rows], "o-", color="tab:blue", label="requests/s")
    left.set_xscale("log", base=2)
    left.set_xlabel("client concurrency")
    left.set_ylabel("requests / s", color="tab:blue")
    right = left.twinx()
    right.plot(levels, [r["p50_ms"] for r in rows], "s--", color="tab:orange", label="p50 ms")
    right.plot(levels, [r["p99_ms"] for r in rows], "^--", color="tab:red", label="p99 ms")
    right.set_ylabel("latency ms")
    fig.legend(loc="upper left")
    left.set_title("Local stack: throughput and latency by concurrency")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.knee", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model directory, model.tar.gz, or Hub id")
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level")
    parser.add_argument("--max-seconds", type=float, default=60, help="time cap per level")
    parser.add_argument("--environments", type=int, default=4, help="Lambda environments behind the local API")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where load-knee.md and .png go")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be at least 1")
    with tempfile.NamedTemporaryFile(prefix="sentimentpulse-knee-", suffix=".log") as log:
        stack = LocalStack(
            model=args.model, api_port=free_port(), model_port=free_port(), concurrency=args.environments, log=log
        )
        try:
            stack.start()
            rows = sweep(stack, args.requests, args.max_seconds)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            stack.stop()
    text = table(rows, args.environments)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load-knee.md").write_text(
        "# Load knee (`make load`)\n\n" + text + "\nWritten by `python -m bench.knee` (part of `make load`).\n",
        encoding="utf-8",
    )
    chart(rows, args.out / "load-knee.png")
    print(f"wrote {args.out / 'load-knee.md'} and {args.out / 'load-knee.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
