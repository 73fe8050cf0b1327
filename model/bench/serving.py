"""Measurements through the local stand-ins: the model server under concurrent clients, and what the
local API + handler + botocore client add over a direct ``predict_fn`` call."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from devstack.client import percentile, post_json
from devstack.stack import LocalStack, free_port
from model.bench.measure import SHORT
from model.bench.results import ServerPoint, StackOverhead

CONCURRENCIES = (1, 8, 32)


def concurrent_throughput(url: str, texts: list[str], concurrency: int) -> float:
    def one(text: str) -> None:
        status, _ = post_json(url, {"inputs": [text]}, timeout=120)
        if status != 200:
            raise RuntimeError(f"{url} answered {status}")

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, texts[: concurrency * 2]))  # warm up
        started = time.perf_counter()
        list(pool.map(one, texts))
        return len(texts) / (time.perf_counter() - started)


def timed_ms(url: str, payload: dict[str, object]) -> float:
    started = time.perf_counter()
    status, _ = post_json(url, payload)
    if status != 200:
        raise RuntimeError(f"{url} answered {status}")
    return (time.perf_counter() - started) * 1000


def server_and_stack(
    model_dir: Path, path: str, texts: list[str], quick: bool
) -> tuple[list[ServerPoint], StackOverhead]:
    os.environ["SP_INFERENCE_PATH"] = path
    with open(os.devnull, "wb") as devnull:
        stack = LocalStack(
            model=str(model_dir), api_port=free_port(), model_port=free_port(), concurrency=2, log=devnull
        )
        stack.start()
        try:
            points = [
                ServerPoint(c, concurrent_throughput(f"{stack.model_url}/invocations", texts, c)) for c in CONCURRENCIES
            ]
            api, server = [], []
            for _ in range(10 if quick else 300):
                api.append(timed_ms(f"{stack.api_url}/predict", {"text": SHORT}))
                server.append(timed_ms(f"{stack.model_url}/invocations", {"inputs": [SHORT]}))
        finally:
            stack.stop()
    overhead = StackOverhead(
        api_p50_ms=percentile(api, 50), api_p99_ms=percentile(api, 99), server_p50_ms=percentile(server, 50)
    )
    return points, overhead
