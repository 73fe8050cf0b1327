"""``make budget``: the worst request the API accepts, through the local stack, on the slowest CPU.

The full-size DistilBERT architecture (random weights: speed does not depend on them) serves on the
default fp32 variant behind the whole local stack (local API -> handler -> boto3 -> model server).
With ``--avx2-only`` (the default) the model server runs with AVX-512 switched off
(``bench.budget.AVX2_ONLY``), so this machine computes like the slowest CPU the template allows
(bench/budget.py) whatever its own. It times the worst accepted request (``MAX_REQUEST_TOKENS``
tokens in texts of 512) a few times, checks each against half the read timeout, and sends one text
more, which must get 413 before any model work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.budget import AVX2_ONLY, MARGIN, READ_TIMEOUT_S, Projection
from bench.measure import build_full_size_model, worst_case_texts
from devstack.client import post_json
from devstack.lambda_env import ROOT
from devstack.stack import LocalStack, free_port
from handler.contract import MAX_REQUEST_TOKENS
from model.training.data import read_tsv

MAX_LENGTH = 512
CACHE = ROOT / "build" / "bench" / "full-size-distilbert"


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return set()
    line = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worst_request", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the real model's config and tokenizer")
    parser.add_argument("--data", type=Path, required=True, help="dev.tsv: the texts are dev sentences")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--native", action="store_true", help="keep this CPU's AVX-512 kernels (not the budget's CPU)")
    args = parser.parse_args(argv)
    for name, path in (("--config", args.config), ("--data", args.data)):
        if not path.exists():
            parser.error(f"{name} {path} does not exist")

    flags = cpu_flags()
    if not args.native:
        os.environ.update(AVX2_ONLY)  # inherited by the model server, read when oneDNN and MKL load
    kernels = "AVX-512" if "avx512f" in flags and args.native else "AVX2"
    print(f"CPU: {'AVX-512' if 'avx512f' in flags else 'AVX2 only'}{' + VNNI' if 'avx512_vnni' in flags else ''}; "
          f"kernels: {kernels}; threads: {len(os.sched_getaffinity(0))}", flush=True)  # fmt: skip
    if not (CACHE / "config.json").exists():
        print("building the full-size architecture (random weights) ...", flush=True)
        build_full_size_model(args.config, CACHE)
    texts = worst_case_texts([e.text for e in read_tsv(args.data)], MAX_REQUEST_TOKENS, MAX_LENGTH)

    with tempfile.NamedTemporaryFile(prefix="budget-stack-", suffix=".log") as log:
        stack = LocalStack(str(CACHE), api_port=free_port(), model_port=free_port(), concurrency=1, log=log)
        try:
            stack.start()
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        try:
            url = f"{stack.api_url}/predict"
            post_json(url, {"text": "warm up"})
            seconds: list[float] = []
            for run in range(1, args.runs + 1):
                started = time.perf_counter()
                status, _ = post_json(url, {"texts": texts}, timeout=60)
                seconds.append(time.perf_counter() - started)
                print(f"run {run}: {len(texts)} texts, {MAX_REQUEST_TOKENS} tokens -> {status} in {seconds[-1]:.2f} s")
                if status != 200:
                    print(f"error: the worst accepted request answered {status}", file=sys.stderr)
                    return 1
            over, _ = post_json(url, {"texts": [*texts, "ok"]}, timeout=60)
        finally:
            stack.stop()
    median = statistics.median(seconds)
    limit = READ_TIMEOUT_S / MARGIN
    print(f"one text past the budget -> {over} (expected 413)")
    threads = len(os.sched_getaffinity(0))
    print(Projection("fp32 through the local stack", median, threads, MAX_REQUEST_TOKENS).describe())
    verdict = "within" if max(seconds) <= limit else "OVER"
    print(f"worst of {len(seconds)}: {max(seconds):.2f} s, median {median:.2f} s: {verdict} {limit:.1f} s "
          f"(half the {READ_TIMEOUT_S:g} s read timeout)")  # fmt: skip
    return 0 if verdict == "within" and over == 413 else 1


if __name__ == "__main__":
    sys.exit(main())
