"""``make bench-workers``: multi-model-server workers x intra-op threads on the DLC's real serving stack.

The full-size DistilBERT architecture (random weights: speed does not depend on them) packaged as
``make package-model`` does, served by the toolkit and MMS from .venv-dlc (devstack/dlc.py) with
``SAGEMAKER_MODEL_SERVER_WORKERS`` and ``SP_NUM_THREADS`` set per configuration. Each request carries
one dev sentence (the API's common shape) and goes straight to ``/invocations``; throughput and p50
at concurrency 1 and 8, per configuration, side by side in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.measure import build_full_size_model
from devstack.client import percentile, timed_ms
from devstack.dlc import DlcContainer, DlcError, free_mms_port
from devstack.lambda_env import ROOT
from model.packaging.archive import build_archive
from model.training.data import read_tsv

BUILD = ROOT / "build" / "bench"
CONFIGS = ((1, 2), (2, 1), (2, 2))  # (workers, threads)
PARAMETERS = {"truncation": True, "max_total_tokens": 2048}  # what the handler sends


def run(url: str, texts: list[str], concurrency: int) -> tuple[float, float]:
    """(requests per second, p50 ms) for ``texts``, one per request, ``concurrency`` at a time."""
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(lambda text: timed_ms(url, {"inputs": [text], "parameters": PARAMETERS}), texts))
    return len(texts) / (time.perf_counter() - started), percentile(latencies, 50)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mms_workers", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="the real model's config and tokenizer")
    parser.add_argument("--data", type=Path, required=True, help="dev.tsv")
    parser.add_argument("--requests", type=int, default=160, help="per concurrency level and configuration")
    args = parser.parse_args(argv)
    model = BUILD / "full-size-distilbert"
    if not (model / "config.json").exists():
        build_full_size_model(args.config, model)
    archive = BUILD / "full-size-fp32" / "model.tar.gz"
    if not archive.exists():
        build_archive(model, archive)
    sentences = [e.text for e in read_tsv(args.data)]
    texts = sentences[: args.requests]
    print(f"{len(os.sched_getaffinity(0))} CPUs; {len(texts)} requests of one dev sentence per level", flush=True)
    rows = []
    for workers, threads in CONFIGS:
        environment = {
            "HF_TASK": "text-classification",  # as the template sets it; multi-model-server fails to start without
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
            "SP_NUM_THREADS": str(threads),
            "SP_INFERENCE_VARIANT": "fp32",
        }
        with tempfile.TemporaryDirectory(prefix="mms-workers-") as tmp, open(Path(tmp) / "log", "wb") as log:
            container = DlcContainer(
                archive, free_mms_port(), run_dir=Path(tmp) / "run", environment=environment, log=log
            )
            try:
                container.start()
                url = f"{container.url}/invocations"
                run(url, sentences[-16:], 4)  # every worker warm
                one = run(url, texts[: len(texts) // 4], 1)
                eight = run(url, texts, 8)
            except (DlcError, OSError, RuntimeError) as exc:
                print(f"error: {workers} x {threads}: {exc}", file=sys.stderr)
                return 1
            finally:
                container.stop()
        rows.append((workers, threads, container.start_seconds or 0.0, one, eight))
        print(f"{workers} x {threads}: c1 {one[0]:.1f} req/s p50 {one[1]:.1f} ms; c8 {eight[0]:.1f} req/s "
              f"p50 {eight[1]:.1f} ms; start {container.start_seconds:.1f} s", flush=True)  # fmt: skip
    print("\n| workers x threads | c=1 req/s | c=1 p50 ms | c=8 req/s | c=8 p50 ms |\n|---|---|---|---|---|")
    for workers, threads, _, one, eight in rows:
        print(f"| {workers} x {threads} | {one[0]:.1f} | {one[1]:.1f} | {eight[0]:.1f} | {eight[1]:.1f} |")
    best = max(rows, key=lambda r: statistics.mean([r[3][0] / rows[0][3][0], r[4][0] / rows[0][4][0]]))
    print(f"\nhighest mean throughput relative to 1 x 2: {best[0]} x {best[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
