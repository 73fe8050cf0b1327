"""The HTTP client side of the local tools: one JSON POST, its timing and one percentile, for the
load test and the benchmarks (standard library only; loopback URLs)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any


def post_json(url: str, payload: Any, timeout: float = 30) -> tuple[int, Any]:
    """POST ``payload`` as JSON: ``(status, parsed body or None)``; status 0 when no answer came."""
    request = urllib.request.Request(  # noqa: S310 - loopback URLs of the local stack
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, None
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0, None


def get_json(url: str, timeout: float = 30) -> Any:
    """GET ``url`` and parse its JSON body (an HTTP error raises)."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback URLs
        return json.loads(response.read())


def timed_ms(url: str, payload: Any) -> float:
    """Milliseconds for one ``post_json`` that must answer 200 (else RuntimeError)."""
    started = time.perf_counter()
    status, _ = post_json(url, payload)
    if status != 200:
        raise RuntimeError(f"{url} answered {status}")
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]
