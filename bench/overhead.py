"""Where the local stack's overhead goes: one short text, sequential, through the local API and
straight to the model server (on the body the handler sends) in alternation.

The split comes from the latencies each layer already logs, so nothing is instrumented for it:
the local API's ``request`` line (from its headers read to its answer written), the handler's
``prediction`` line (``model_latency_ms``: the SageMaker call through botocore) and the model
server's ``invocation`` line (its own work). Requests are sequential, so the k-th line of each kind
belongs to the k-th request of its kind. Every figure is a p50 over the rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.client import timed_ms
from devstack.expectations import SEED
from devstack.stack import DEFAULT_MODEL, LocalStack, free_port
from handler.contract import MAX_REQUEST_TOKENS
from handler.model_wire import Scoring

WARMUP = 20


@dataclass
class Split:
    """p50s in ms. ``added_ms`` is the stack's client-side p50 minus the direct call's."""

    rounds: int
    stack_ms: float  # client -> local API -> handler -> botocore -> model server, as the client sees it
    direct_ms: float  # client -> model server on the same body
    client_to_api_ms: float  # the client's HTTP exchange with the local API (outside the API's own timing)
    api_and_handler_ms: float  # local API, the hop into the environment and the handler, the call excluded
    botocore_ms: float  # the SageMaker call as the handler times it, minus the server's own work
    server_in_stack_ms: float  # the model server's own work on the stack's requests
    client_to_server_ms: float  # the client's HTTP exchange with the model server (direct calls)
    server_direct_ms: float  # the model server's own work on the direct requests

    @property
    def added_ms(self) -> float:
        return self.stack_ms - self.direct_ms


def split(log_lines: list[str], stack_ms: list[float], direct_ms: list[float]) -> Split:
    """Attribute the logged latencies of the last ``len(stack_ms)`` alternating rounds (stack request
    first) to the layers. Earlier lines (a warm-up, the readiness checks) may come before them."""
    api: list[float] = []
    handler: list[float] = []
    server: list[float] = []
    for line in log_lines:
        try:
            entry: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError:
            continue  # not a log line of ours
        if entry.get("message") == "request" and entry.get("logger") == "sentimentpulse.local_api":
            api.append(float(entry["latency_ms"]))
        elif entry.get("message") == "prediction" and "model_latency_ms" in entry:
            handler.append(float(entry["model_latency_ms"]))
        elif entry.get("message") == "invocation" and entry.get("logger") == "sentimentpulse.model_server":
            server.append(float(entry["latency_ms"]))
    rounds = len(stack_ms)
    if len(direct_ms) != rounds or min(len(api), len(handler)) < rounds or len(server) < 2 * rounds:
        raise ValueError(
            f"log holds {len(api)} API, {len(handler)} handler, {len(server)} server lines for {rounds} rounds"
        )
    api, handler, server = api[-rounds:], handler[-rounds:], server[-2 * rounds :]  # the timed rounds come last
    in_stack, direct = server[0::2], server[1::2]

    def p50(values: list[float]) -> float:
        return round(statistics.median(values), 2)

    return Split(
        rounds=rounds,
        stack_ms=p50(stack_ms),
        direct_ms=p50(direct_ms),
        client_to_api_ms=p50([c - a for c, a in zip(stack_ms, api, strict=True)]),
        api_and_handler_ms=p50([a - h for a, h in zip(api, handler, strict=True)]),
        botocore_ms=p50([h - s for h, s in zip(handler, in_stack, strict=True)]),
        server_in_stack_ms=p50(in_stack),
        client_to_server_ms=p50([c - s for c, s in zip(direct_ms, direct, strict=True)]),
        server_direct_ms=p50(direct),
    )


def handler_body(text: str) -> dict[str, Any]:
    """The body the handler sends the model for one text: the baseline the stack is compared with."""
    return {"inputs": [text], "parameters": Scoring().parameters(MAX_REQUEST_TOKENS)}


def measure(model: str, rounds: int, text: str = SEED) -> Split:
    """Start a local stack on ``model``, run ``rounds`` alternating requests after a warm-up, stop it
    (the environments exit normally, so their buffered log lines are written) and split its log."""
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "stack.log"
        with log_path.open("wb") as log:
            stack = LocalStack(model=model, api_port=free_port(), model_port=free_port(), concurrency=1, log=log)
            stack.start()
            try:
                api_url, server_url = f"{stack.api_url}/predict", f"{stack.model_url}/invocations"
                body = handler_body(text)
                stack_ms, direct_ms = [], []
                for _ in range(WARMUP + rounds):
                    stack_ms.append(timed_ms(api_url, {"text": text}))
                    direct_ms.append(timed_ms(server_url, body))
            finally:
                stack.stop()
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    return split(lines, stack_ms[WARMUP:], direct_ms[WARMUP:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.overhead", description="Where the local stack's overhead over the model server goes."
    )
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model directory or model.tar.gz")
    parser.add_argument("--rounds", type=int, default=300, help="alternating request pairs, after a warm-up")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    print(f"{args.rounds} rounds of one short text, through the stack and direct, in alternation...", file=sys.stderr)
    try:
        result = measure(args.model, args.rounds)
    except RuntimeError as exc:  # the stack did not start, or a request failed
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = [
        ("through the stack (client view)", result.stack_ms),
        ("  client <-> local API (HTTP)", result.client_to_api_ms),
        ("  local API + hop + handler, call excluded", result.api_and_handler_ms),
        ("  SageMaker call: botocore + HTTP", result.botocore_ms),
        ("  model server's own work", result.server_in_stack_ms),
        ("direct to the model server (client view)", result.direct_ms),
        ("  client <-> model server (HTTP)", result.client_to_server_ms),
        ("  model server's own work", result.server_direct_ms),
        ("added by the stack", result.added_ms),
    ]
    for name, value in rows:
        print(f"{name:<45} {value:8.2f} ms p50")
    print("(each line is a p50 of its own, so the parts need not add up to the whole)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
