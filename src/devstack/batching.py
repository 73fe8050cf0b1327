"""Dynamic batching across concurrent requests (decode -> predict -> encode, LitServe style).

Requests put their texts on a queue; one loop takes every request that queued up while the model
was busy (up to ``max_batch_size`` texts, optionally waiting ``max_wait_ms`` for more), runs one
``predict_fn`` call for all of them on a worker thread (never on the event loop) and hands each
request its own slice back. A lone request is never delayed; under load, batches form by themselves.
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

Predict = Callable[[list[str]], list[dict[str, Any]]]


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


@dataclass
class BatchStats:
    requests: int = 0
    texts: int = 0
    model_calls: int = 0
    largest_batch: int = 0
    busy_seconds: float = 0.0
    batch_sizes: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "texts": self.texts,
            "model_calls": self.model_calls,
            "largest_batch": self.largest_batch,
            "busy_seconds": round(self.busy_seconds, 3),
            "batch_sizes": dict(sorted(self.batch_sizes.items())),
        }


@dataclass
class _Pending:
    texts: list[str]
    future: asyncio.Future[list[dict[str, Any]]]


class DynamicBatcher:
    def __init__(self, predict: Predict, settings: BatchSettings) -> None:
        self._predict = predict
        self.settings = settings
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
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

    async def submit(self, texts: list[str]) -> list[dict[str, Any]]:
        if not texts:
            return []
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(texts, future))
        return await future

    async def _collect(self) -> list[_Pending]:
        first = await self._queue.get()
        batch, size = [first], len(first.texts)
        deadline = time.monotonic() + self.settings.max_wait_ms / 1000
        while size < self.settings.max_batch_size:
            if not self._queue.empty():  # requests that arrived while the model was busy
                item = self._queue.get_nowait()
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), timeout=remaining)
                except TimeoutError:
                    break
            batch.append(item)
            size += len(item.texts)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            texts = [t for item in batch for t in item.texts]
            started = time.perf_counter()
            try:
                results = await loop.run_in_executor(self._executor, self._predict, texts)
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
