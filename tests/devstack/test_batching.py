"""DynamicBatcher: concurrent requests share model calls, each gets its own results, in order."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from pydantic import ValidationError

from devstack.batching import BatchSettings, Dropped, DynamicBatcher, Overloaded

pytestmark = pytest.mark.unit


def echo_model(calls: list[list[str]], delay: float = 0.02) -> Any:
    def predict(texts: list[str], parameters: dict[str, Any]) -> list[dict[str, Any]]:
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

    def flaky(texts: list[str], parameters: dict[str, Any]) -> list[dict[str, Any]]:
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


def test_the_batch_cap_is_hard_and_large_requests_are_split() -> None:
    calls: list[list[str]] = []
    batcher = DynamicBatcher(echo_model(calls), BatchSettings(max_batch_size=32))
    requests = [[f"r{r}t{t}" for t in range(size)] for r, size in enumerate([20, 20, 20, 100, 5, 31])]
    results = asyncio.run(run_concurrently(batcher, requests))
    assert [[p["label"] for p in result] for result in results] == [[t.upper() for t in r] for r in requests]
    assert max(len(call) for call in calls) <= 32  # never exceeded, even by a request that does not fit
    assert sorted(t for call in calls for t in call) == sorted(t for r in requests for t in r)  # each text once


def test_a_full_queue_refuses_at_once() -> None:
    calls: list[list[str]] = []

    async def scenario() -> tuple[list[Any], float]:
        batcher = DynamicBatcher(echo_model(calls, delay=0.3), BatchSettings(max_batch_size=8, max_queue_texts=10))
        batcher.start()
        try:
            first = asyncio.ensure_future(batcher.submit(["a"] * 8))  # taken by the model at once
            await asyncio.sleep(0.05)
            queued = asyncio.ensure_future(batcher.submit(["b"] * 8))  # waits: 8 of 10 queued
            await asyncio.sleep(0.01)
            started = time.perf_counter()
            with pytest.raises(Overloaded):
                await batcher.submit(["c"] * 3)  # 8 + 3 > 10
            refused_in = time.perf_counter() - started
            results = await asyncio.gather(first, queued)
            assert batcher.stats.shed == 1 and batcher.queued_texts == 0
            return list(results), refused_in
        finally:
            await batcher.stop()

    results, refused_in = asyncio.run(scenario())
    assert refused_in < 0.05  # no waiting behind the busy model
    assert [len(r) for r in results] == [8, 8]
    assert all(text != "c" for call in calls for text in call)  # the refused texts were never computed


def test_gone_and_expired_requests_never_reach_the_model() -> None:
    calls: list[list[str]] = []

    async def scenario() -> None:
        settings = BatchSettings(max_batch_size=4, max_queue_ms=100)
        batcher = DynamicBatcher(echo_model(calls, delay=0.3), settings)
        batcher.start()
        try:
            busy = asyncio.ensure_future(batcher.submit(["busy"] * 4))
            await asyncio.sleep(0.05)
            gone = asyncio.ensure_future(batcher.submit(["gone"], alive=lambda: False))
            late = asyncio.ensure_future(batcher.submit(["late"]))  # waits 0.25 s > 100 ms behind "busy"
            for waiting in (gone, late):
                with pytest.raises(Dropped):
                    await waiting
            assert len(await busy) == 4
            assert await batcher.submit(["fresh"]) == [{"label": "FRESH", "score": 1.0}]
            assert batcher.stats.dropped == 2
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert calls == [["busy"] * 4, ["fresh"]]


def test_parameters_reach_the_model_and_only_mergeable_requests_share_a_call() -> None:
    seen: list[tuple[list[str], dict[str, Any]]] = []

    def model(texts: list[str], parameters: dict[str, Any]) -> list[dict[str, Any]]:
        seen.append((list(texts), parameters))
        time.sleep(0.05)
        return [{"label": t, "score": 1.0} for t in texts]

    def combine(group: list[dict[str, Any]]) -> dict[str, Any] | None:
        kinds = {p.get("kind") for p in group}
        return {"kind": kinds.pop(), "n": len(group)} if len(kinds) == 1 else None

    batcher = DynamicBatcher(model, BatchSettings(max_batch_size=64), combine)

    async def scenario() -> None:
        batcher.start()
        try:
            busy = asyncio.ensure_future(batcher.submit(["busy"], {"kind": "a"}))
            await asyncio.sleep(0.01)  # the model is busy: the next three queue up
            await asyncio.gather(
                batcher.submit(["a1"], {"kind": "a"}),
                batcher.submit(["a2"], {"kind": "a"}),
                batcher.submit(["b1"], {"kind": "b"}),
            )
            await busy
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert seen == [
        (["busy"], {"kind": "a", "n": 1}),
        (["a1", "a2"], {"kind": "a", "n": 2}),  # merged by combine
        (["b1"], {"kind": "b", "n": 1}),  # could not join: opened the next call
    ]
