"""make load: a bounded load test of the local stack (loopback only, fixed request count and time cap).

Mixed single and batch requests at a fixed concurrency. Every response is checked against its
request: the same number of predictions, in the same order (each text's answer is known from a
calibration pass). Reports throughput, latency percentiles, errors and the RSS of the stack's
processes before and after. Passes with 0 errors, 0 mismatches and RSS growth under 10 %.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.client import percentile, post_json
from devstack.stack import DEFAULT_MODEL, LocalStack, free_port

# onnx-int8 quantizes activations per call, so a text's score moves by a few hundredths with the
# other texts in its batch; for these clear texts the label does not.
SCORE_TOLERANCE = 0.05
TEXTS = [
    "This product is amazing, I loved it!",
    "This was a terrible waste of money.",
    "An absolute joy from start to finish.",
    "The worst service I have ever had.",
    "It works exactly as described, very happy.",
    "Broke after two days, do not buy.",
    "A delightful, funny and moving film.",
    "Boring, predictable and far too long.",
    "Great value and fast delivery.",
    "I want my money back.",
    "The acting was superb and the story gripping.",
    "Flat characters and a dull plot.",
    "Highly recommended to everyone.",
    "Disappointing in every way.",
    "Beautiful photography and a wonderful score.",
    "Cheap materials, it fell apart.",
]


def rss_kb(pid: int) -> int:
    """Resident set size of a process and its children (the API's Lambda environments)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        status = Path(f"/proc/{one}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


@dataclass
class LoadResult:
    requests: int = 0
    texts: int = 0
    errors: int = 0
    shed: int = 0  # answered 503 (throttled or unavailable): fast refusals, counted in errors too
    mismatches: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    rss_before_kb: dict[str, int] = field(default_factory=dict)
    rss_after_kb: dict[str, int] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def rss_growth(self) -> float:
        before, after = sum(self.rss_before_kb.values()), sum(self.rss_after_kb.values())
        return (after - before) / before if before else 0.0

    def passed(self) -> bool:
        return self.errors == 0 and self.mismatches == 0 and self.rss_growth() < 0.10

    def summary(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "texts": self.texts,
            "errors": self.errors,
            "shed": self.shed,
            "mismatches": self.mismatches,
            "seconds": round(self.seconds, 2),
            "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
            "texts_per_s": round(self.texts / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(self.percentile(50), 2),
            "p95_ms": round(self.percentile(95), 2),
            "p99_ms": round(self.percentile(99), 2),
            "rss_before_mb": {k: round(v / 1024, 1) for k, v in self.rss_before_kb.items()},
            "rss_after_mb": {k: round(v / 1024, 1) for k, v in self.rss_after_kb.items()},
            "rss_growth_pct": round(100 * self.rss_growth(), 2),
            "passed": self.passed(),
        }


def run_load(stack: LocalStack, requests: int, concurrency: int, max_seconds: float, seed: int = 7) -> LoadResult:
    url = f"{stack.api_url}/predict"
    # Calibration: each text's answer, alone. Batched answers must match it, position by position.
    expected: dict[str, dict[str, Any]] = {}
    for text in TEXTS:
        status, body = post_json(url, {"text": text})
        if status != 200:
            raise RuntimeError(f"calibration request failed with {status}")
        expected[text] = body[0]
    rng = random.Random(seed)
    plans = [
        rng.sample(TEXTS, rng.randint(2, len(TEXTS))) if rng.random() < 0.4 else [rng.choice(TEXTS)]
        for _ in range(requests)
    ]
    warmup = min(200, max(concurrency * 4, requests // 10))
    result = LoadResult()
    deadline = time.monotonic() + max_seconds

    def one(texts: list[str]) -> tuple[float, int, bool]:
        if time.monotonic() > deadline:
            return 0.0, -1, False
        payload: dict[str, Any] = {"text": texts[0]} if len(texts) == 1 else {"texts": texts}
        started = time.perf_counter()
        status, body = post_json(url, payload)
        elapsed = (time.perf_counter() - started) * 1000
        ok = (
            status == 200
            and isinstance(body, list)
            and len(body) == len(texts)
            and all(
                b["label"] == expected[t]["label"] and abs(b["score"] - expected[t]["score"]) < SCORE_TOLERANCE
                for b, t in zip(body, texts, strict=True)
            )
        )
        return elapsed, status, ok

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, plans[:warmup]))  # warm up, then measure memory
        assert stack.model_server is not None and stack.api is not None
        result.rss_before_kb = {"model_server": rss_kb(stack.model_server.pid), "api": rss_kb(stack.api.pid)}
        started = time.perf_counter()
        for plan, (elapsed, status, ok) in zip(plans, pool.map(one, plans), strict=True):
            if status == -1:
                break  # time cap reached
            result.requests += 1
            result.texts += len(plan)
            result.latencies_ms.append(elapsed)
            if status != 200:
                result.errors += 1
                result.shed += status == 503
            elif not ok:
                result.mismatches += 1
        result.seconds = time.perf_counter() - started
        result.rss_after_kb = {"model_server": rss_kb(stack.model_server.pid), "api": rss_kb(stack.api.pid)}
    return result


def render(summary: dict[str, Any], concurrency: int) -> str:
    rows = [
        ("requests (texts)", f"{summary['requests']} ({summary['texts']})"),
        ("concurrency", str(concurrency)),
        ("duration", f"{summary['seconds']} s"),
        ("throughput", f"{summary['requests_per_s']} req/s, {summary['texts_per_s']} texts/s"),
        ("latency p50 / p95 / p99", f"{summary['p50_ms']} / {summary['p95_ms']} / {summary['p99_ms']} ms"),
        ("errors", str(summary["errors"])),
        ("lost or mismatched responses", str(summary["mismatches"])),
        ("RSS before (MB)", json.dumps(summary["rss_before_mb"])),
        ("RSS after (MB)", json.dumps(summary["rss_after_mb"])),
        ("RSS growth", f"{summary['rss_growth_pct']} %"),
        ("result", "PASS" if summary["passed"] else "FAIL"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model directory, model.tar.gz, or Hub id")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=900, help="time cap for the measured phase")
    parser.add_argument("--environments", type=int, default=4, help="Lambda environments behind the local API")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    if args.requests < 1 or not 1 <= args.concurrency <= 256:
        parser.error("--requests must be >= 1 and --concurrency between 1 and 256")
    with tempfile.NamedTemporaryFile(prefix="sentimentpulse-load-", suffix=".log") as log:
        stack = LocalStack(
            model=args.model,
            api_port=free_port(),
            model_port=free_port(),
            concurrency=args.environments,
            log=log,  # kept only for the error when the stack does not start
        )
        print(f"starting the local stack ({args.model}) ...", file=sys.stderr)
        try:
            stack.start()
            print(f"{args.requests} requests at concurrency {args.concurrency} ...", file=sys.stderr)
            result = run_load(stack, args.requests, args.concurrency, args.max_seconds)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            stack.stop()
    summary = result.summary()
    print(render(summary, args.concurrency))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return 0 if result.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
