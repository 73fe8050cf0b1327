"""Measurements through the local stand-ins: the model server under concurrent clients (and against
``predict_fn`` offline, side by side), and what the local API + handler + botocore client add over
the model server alone."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from bench.measure import SHORT, predict_all, throughput
from bench.overhead import handler_body
from bench.results import SMALL_CALL_TEXTS, ServedVsOffline, ServerPoint, StackOverhead
from devstack.client import get_json, percentile, post_json, timed_ms
from devstack.stack import LocalStack, free_port
from model.code import inference

CONCURRENCIES = (1, 8, 32)


def concurrent_throughput(
    url: str, texts: list[str], concurrency: int, before_timed: Callable[[], object] = lambda: None
) -> float:
    def one(text: str) -> None:
        status, _ = post_json(url, {"inputs": [text]}, timeout=120)
        if status != 200:
            raise RuntimeError(f"{url} answered {status}")

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, texts[: concurrency * 2]))  # warm up
        before_timed()
        started = time.perf_counter()
        list(pool.map(one, texts))
        return len(texts) / (time.perf_counter() - started)


def _snapshot(stats_url: str, into: list[dict[str, Any]]) -> None:
    into.append(get_json(stats_url))


def served_vs_offline(model_dir: Path, model_url: str, texts: list[str], rounds: int) -> ServedVsOffline:
    """``rounds`` times: ``predict_fn`` on ``texts`` in this process (the server idle), then the server
    at the top concurrency on the same texts (this process's model idle), with the server's model
    calls during that timed run."""
    loaded = inference.model_fn(str(model_dir))
    predict_all(loaded, texts[:64])
    top = CONCURRENCIES[-1]
    result = ServedVsOffline(top, len(texts), served=[], offline=[], calls=[], small_calls=[])
    stats_url = f"{model_url}/_local/stats"
    for _ in range(rounds):
        result.offline.append(throughput(partial(predict_all, loaded, texts), len(texts)))
        snapshots: list[dict[str, Any]] = []
        result.served.append(
            concurrent_throughput(f"{model_url}/invocations", texts, top, partial(_snapshot, stats_url, snapshots))
        )
        before, after = snapshots[0], get_json(stats_url)
        sizes = {int(size): n - before["batch_sizes"].get(size, 0) for size, n in after["batch_sizes"].items()}
        result.calls.append(after["model_calls"] - before["model_calls"])
        result.small_calls.append(sum(n for size, n in sizes.items() if size <= SMALL_CALL_TEXTS))
    return result


def server_and_stack(
    model_dir: Path, path: str, texts: list[str], quick: bool
) -> tuple[list[ServerPoint], ServedVsOffline, StackOverhead, str]:
    """The served figures, and the variant the server loaded with why (``auto`` times them at load)."""
    os.environ["SP_INFERENCE_VARIANT"] = path
    with open(os.devnull, "wb") as devnull:
        stack = LocalStack(
            model=str(model_dir), api_port=free_port(), model_port=free_port(), concurrency=2, log=devnull
        )
        stack.start()
        try:
            served = stack.variant() or path
            why = stack.choice() or ""
            os.environ["SP_INFERENCE_VARIANT"] = served  # predict_fn offline runs what the server chose
            url = f"{stack.model_url}/invocations"
            points = [ServerPoint(c, concurrent_throughput(url, texts, c)) for c in CONCURRENCIES]
            side_by_side = served_vs_offline(model_dir, stack.model_url, texts, 1 if quick else 3)
            # The server alone gets the body the handler sends (with its token budget), and also the
            # bare body: the difference is the server's budget check, not the stack.
            same = handler_body(SHORT)
            api, server, bare = [], [], []
            for _ in range(10 if quick else 300):
                api.append(timed_ms(f"{stack.api_url}/predict", {"text": SHORT}))
                server.append(timed_ms(url, same))
                bare.append(timed_ms(url, {"inputs": [SHORT]}))
        finally:
            stack.stop()
    overhead = StackOverhead(
        api_p50_ms=percentile(api, 50),
        api_p99_ms=percentile(api, 99),
        server_p50_ms=percentile(server, 50),
        server_bare_p50_ms=percentile(bare, 50),
    )
    return points, side_by_side, overhead, f"{served} ({why})" if why else served
