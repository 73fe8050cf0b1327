"""DynamicBatcher: concurrent requests share model calls, each gets its own results, in order."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from pydantic import ValidationError

from devstack.batching import BatchSettings, DynamicBatcher


def echo_model(calls: list[list[str]], delay: float = 0.02) -> Any:
    def predict(texts: list[str]) -> list[dict[str, Any]]:
        assert threading.current_thread() is not threading.main_thread()  # never on the event loop
        calls.append(list(texts))
        time.sleep(delay)
        return [{"label": t.upper(), "score": 1.0} for t in texts]

    return predict


async def run_concurrently(batcher: DynamicBatcher, requests: list[list[str]]) -> list[list[dict[str, Any]]]:
    batcher.start()
    try:
        return await asyncio.gather(*(batcher.submit(r) for r in requests))
    finally:
        await batcher.stop()


def test_concurrent_requests_share_model_calls_and_keep_order() -> None:
    calls: list[list[str]] = []
    batcher = DynamicBatcher(echo_model(calls), BatchSettings(max_batch_size=16))
    requests = [[f"r{i}a", f"r{i}b"] if i % 3 == 0 else [f"r{i}"] for i in range(32)]
    results = asyncio.run(run_concurrently(batcher, requests))
    for request, result in zip(requests, results, strict=True):
        assert [r["label"] for r in result] == [t.upper() for t in request]
    assert len(calls) < len(requests)
    assert max(len(c) for c in calls) <= 16 + 1  # a request is never split; one may tip the batch over
    assert batcher.stats.requests == 32
    assert batcher.stats.texts == sum(len(r) for r in requests)


def test_a_lone_request_is_not_delayed() -> None:
    calls: list[list[str]] = []
    batcher = DynamicBatcher(echo_model(calls, delay=0), BatchSettings(max_batch_size=64, max_wait_ms=0))

    async def one() -> float:
        batcher.start()
        started = time.perf_counter()
        await batcher.submit(["x"])
        elapsed = time.perf_counter() - started
        await batcher.stop()
        return elapsed

    assert asyncio.run(one()) < 0.5
    assert calls == [["x"]]


def test_model_failure_reaches_every_waiting_request_and_the_loop_survives() -> None:
    state = {"fail": True}

    def flaky(texts: list[str]) -> list[dict[str, Any]]:
        if state["fail"]:
            raise RuntimeError("boom")
        return [{"label": "OK", "score": 1.0} for _ in texts]

    batcher = DynamicBatcher(flaky, BatchSettings())

    async def scenario() -> list[dict[str, Any]]:
        batcher.start()
        try:
            outcomes = await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b"]), return_exceptions=True)
            assert all(isinstance(o, RuntimeError) for o in outcomes)
            state["fail"] = False
            return await batcher.submit(["c"])
        finally:
            await batcher.stop()

    assert asyncio.run(scenario()) == [{"label": "OK", "score": 1.0}]


@pytest.mark.parametrize("settings", [{"max_batch_size": 0}, {"max_wait_ms": -1}, {"max_batch_size": 5000}])
def test_settings_are_validated(settings: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        BatchSettings.model_validate(settings)
