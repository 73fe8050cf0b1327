"""The local model server past its capacity: fast 429s (SageMaker's throttling answer, with
Retry-After) instead of growing latency; nothing hangs, is lost or mixed up; it recovers after."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.load import rss_kb
from devstack.expectations import NEGATIVE, SEED
from devstack.stack import LocalStack, free_port
from tests.support import EMBEDDED_MODEL

pytestmark = pytest.mark.devstack

TEXTS = [SEED, NEGATIVE] * 4  # 8 texts per request; what each must come back as is known
LABELS = ["POSITIVE", "NEGATIVE"] * 4
TIMEOUT_S = 10.0


@dataclass
class Outcome:
    status: int
    seconds: float
    retry_after: str | None
    labels: list[str] | None


def invoke(url: str) -> Outcome:
    body = json.dumps({"inputs": TEXTS}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")  # noqa: S310
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - loopback
            labels = [p["label"] for p in json.loads(response.read())]
            return Outcome(response.status, time.perf_counter() - started, None, labels)
    except urllib.error.HTTPError as error:
        return Outcome(error.code, time.perf_counter() - started, error.headers.get("Retry-After"), None)
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return Outcome(0, time.perf_counter() - started, None, None)


def offer(url: str, rate: float, seconds: float, workers: int) -> list[Outcome]:
    """Open loop: one request every 1/rate s for ``seconds``, whatever the answers take."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures, started = [], time.perf_counter()
        for i in range(int(rate * seconds)):
            time.sleep(max(0.0, started + i / rate - time.perf_counter()))
            futures.append(pool.submit(invoke, url))
        return [f.result() for f in futures]


def test_overload_sheds_fast_and_recovers(tmp_path: Path) -> None:
    log = (tmp_path / "server.log").open("wb")
    server_args = ["--max-batch-size", "8", "--max-queue-texts", "64", "--max-queue-ms", str(TIMEOUT_S * 1000)]
    stack = LocalStack(model=str(EMBEDDED_MODEL), model_port=free_port(), server_args=server_args, log=log)
    stack.start_model_server()
    url = f"{stack.model_url}/invocations"
    try:
        assert stack.model_server is not None
        # Capacity, closed loop: as fast as 4 clients get answers.
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda _: invoke(url), range(8)))  # warm up
            rss_before = rss_kb(stack.model_server.pid)
            started = time.perf_counter()
            calibration = list(pool.map(lambda _: invoke(url), range(40)))
            capacity = len(calibration) / (time.perf_counter() - started)
        assert all(o.status == 200 for o in calibration)

        outcomes = offer(url, rate=2 * capacity, seconds=4.0, workers=64)

        statuses = {o.status for o in outcomes}
        assert statuses <= {200, 429}, statuses  # no hang (0), no other error
        served = [o for o in outcomes if o.status == 200]
        shed = [o for o in outcomes if o.status == 429]
        assert served and shed, (len(served), len(shed))
        assert all(o.labels == LABELS for o in served)  # nothing lost or mixed up
        assert all(o.seconds < TIMEOUT_S for o in served)
        assert all(o.retry_after == "1" for o in shed)
        shed_times = sorted(o.seconds for o in shed)
        assert shed_times[int(0.99 * (len(shed_times) - 1))] < 0.5  # refused at once, not after waiting

        time.sleep(1.0)
        after = invoke(url)
        assert (after.status, after.labels) == (200, LABELS)
        stats = json.loads(urllib.request.urlopen(f"{stack.model_url}/_local/stats", timeout=5).read())  # noqa: S310
        assert stats["shed"] == len(shed)
        assert stats["largest_batch"] <= 8
        assert rss_kb(stack.model_server.pid) < rss_before * 1.15 + 20_000
    finally:
        stack.stop()
        log.close()
