"""Dynamic batching across concurrent requests (decode -> predict -> encode, LitServe style).

Requests put their texts and ``parameters`` on a queue; one loop takes every request that queued up
while the model was busy (up to ``max_batch_size`` texts, optionally waiting ``max_wait_ms`` for more),
runs one ``predict_fn`` call for all of them on a worker thread (never on the event loop) and hands each
request its own slice back. A lone request is never delayed; under load, batches form by themselves.
Only requests whose parameters the owner's ``combine`` can merge share a call (the request's
``parameters`` reach ``predict_fn``, as they do in the Hugging Face toolkit); another one opens the
next batch.

Overload: the queue holds at most ``max_queue_texts`` texts; past that ``submit`` raises ``Overloaded``
at once (the server answers a fast 503 + Retry-After) instead of letting latency grow until callers
time out. ``max_batch_size`` is a hard cap: a request larger than it is split, and a request that
does not fit the forming batch waits for the next one. A request whose caller disconnected, or
that waited past ``max_queue_ms`` (its caller's read timeout), is dropped before it reaches the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Parameters = dict[str, Any]
Predict = Callable[[list[str], Parameters], list[dict[str, Any]]]
# The parameters of one model call for several requests' parameters, or None when they cannot share it.
Combine = Callable[[list[Parameters]], Parameters | None]


def same_parameters(group: list[Parameters]) -> Parameters | None:
    return group[0] if all(p == group[0] for p in group) else None


class BatchSettings(BaseModel):
    """Validated batching knobs."""

    model_config = ConfigDict(frozen=True)

    max_batch_size: int = Field(default=64, ge=1, le=1024, description="most texts per model call")
    max_wait_ms: float = Field(
        default=0.0,
        ge=0.0,
        le=1000.0,
        description="extra wait to fill a batch; 0 = take what queued up while the model was busy",
    )
    max_queue_texts: int = Field(default=512, ge=1, le=1_000_000, description="texts waiting, at most")
    max_queue_ms: float = Field(
        default=10_000.0, gt=0.0, le=600_000.0, description="a request waiting longer is dropped (caller gave up)"
    )


class Overloaded(Exception):
    """The queue is full: answer at once (503 + Retry-After) rather than queue without bound."""


class Dropped(Exception):
    """The request was not computed: its caller disconnected or its deadline passed while it waited."""


@dataclass
class BatchStats:
    requests: int = 0
    texts: int = 0
    model_calls: int = 0
    largest_batch: int = 0
    busy_seconds: float = 0.0
    shed: int = 0  # refused at once: queue full
    dropped: int = 0  # taken off the queue uncomputed: caller gone or deadline passed
    batch_sizes: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "texts": self.texts,
            "model_calls": self.model_calls,
            "largest_batch": self.largest_batch,
            "busy_seconds": round(self.busy_seconds, 3),
            "shed": self.shed,
            "dropped": self.dropped,
            "batch_sizes": dict(sorted(self.batch_sizes.items())),
        }


@dataclass
class _Pending:
    texts: list[str]
    parameters: Parameters
    future: asyncio.Future[list[dict[str, Any]]]
    deadline: float
    alive: Callable[[], bool]


class DynamicBatcher:
    def __init__(self, predict: Predict, settings: BatchSettings, combine: Combine = same_parameters) -> None:
        self._predict = predict
        self._combine = combine
        self.settings = settings
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._carry: _Pending | None = None  # did not fit the last batch: first in the next one
        self.queued_texts = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="predict")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(
        self, texts: list[str], parameters: Parameters | None = None, alive: Callable[[], bool] = lambda: True
    ) -> list[dict[str, Any]]:
        """Predictions for ``texts``, in order. ``alive`` tells whether the caller is still there."""
        if not texts:
            return []
        if self.queued_texts + len(texts) > self.settings.max_queue_texts:
            self.stats.shed += 1
            raise Overloaded(f"{self.queued_texts} texts queued, limit {self.settings.max_queue_texts}")
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + self.settings.max_queue_ms / 1000
        step = self.settings.max_batch_size
        pending = [
            _Pending(texts[i : i + step], dict(parameters or {}), loop.create_future(), deadline, alive)
            for i in range(0, len(texts), step)
        ]
        for item in pending:
            self.queued_texts += len(item.texts)
            self._queue.put_nowait(item)
        chunks = await asyncio.gather(*(item.future for item in pending))
        return [prediction for chunk in chunks for prediction in chunk]

    def _usable(self, item: _Pending) -> bool:
        """Take ``item`` off the queue; False (and the caller told) when it must not reach the model."""
        self.queued_texts -= len(item.texts)
        if item.future.done():
            return False
        if time.monotonic() > item.deadline or not item.alive():
            self.stats.dropped += 1
            item.future.set_exception(Dropped("caller gone or deadline passed"))
            return False
        return True

    async def _next(self, timeout: float | None) -> _Pending | None:
        if self._carry is not None:
            item, self._carry = self._carry, None
            return item
        if not self._queue.empty():  # requests that arrived while the model was busy
            return self._queue.get_nowait()
        if timeout is not None and timeout <= 0:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout=timeout)
        except TimeoutError:
            return None

    async def _collect(self) -> list[_Pending]:
        batch: list[_Pending] = []
        while not batch:
            first = await self._next(None)
            if first is not None and self._usable(first):
                batch.append(first)
        size = len(batch[0].texts)
        deadline = time.monotonic() + self.settings.max_wait_ms / 1000
        while size < self.settings.max_batch_size:
            item = await self._next(deadline - time.monotonic())
            if item is None:
                break
            fits = size + len(item.texts) <= self.settings.max_batch_size
            if not fits or self._combine([*(p.parameters for p in batch), item.parameters]) is None:
                self._carry = item  # the cap is hard, parameters must agree: it opens the next batch
                break
            if self._usable(item):
                batch.append(item)
                size += len(item.texts)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            texts = [t for item in batch for t in item.texts]
            parameters = self._combine([item.parameters for item in batch]) or batch[0].parameters
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._predict, texts, parameters)
            except Exception as exc:  # every waiting request gets the model's failure
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            finally:
                self._record(batch, len(texts), time.perf_counter() - started)
            offset = 0
            for item in batch:
                chunk = results[offset : offset + len(item.texts)]
                offset += len(item.texts)
                if not item.future.done():
                    item.future.set_result(chunk)

    def _record(self, batch: list[_Pending], size: int, seconds: float) -> None:
        stats = self.stats
        stats.requests += len(batch)
        stats.texts += size
        stats.model_calls += 1
        stats.largest_batch = max(stats.largest_batch, size)
        stats.busy_seconds += seconds
        stats.batch_sizes[size] = stats.batch_sizes.get(size, 0) + 1


PER_REQUEST = "max_total_tokens"  # a request's own budget: checked before it queues, summed in a shared call


def combine_parameters(group: list[Parameters]) -> Parameters | None:
    """One model call's parameters for requests that may share it: equal but for their token budgets,
    which add up (each request is within its own, so the call is within their sum)."""
    shared = [{k: v for k, v in p.items() if k != PER_REQUEST} for p in group]
    if any(p != shared[0] for p in shared):
        return None
    budgets = [p.get(PER_REQUEST) for p in group]
    if all(isinstance(b, int) for b in budgets):
        return {**shared[0], PER_REQUEST: sum(b for b in budgets if isinstance(b, int))}
    return shared[0] if all(b is None for b in budgets) else None
