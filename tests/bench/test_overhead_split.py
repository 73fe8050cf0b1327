"""The stack-overhead split attributes each layer's logged latency to the right request (no sockets:
log lines in the shapes the local API, the handler and the model server write)."""

from __future__ import annotations

import json
import logging

import pytest

from bench.overhead import split
from devstack.jsonlog import JsonFormatter

pytestmark = pytest.mark.unit

FORMAT = JsonFormatter()


def local_line(logger: str, message: str, **fields: object) -> str:
    record = logging.LogRecord(logger, logging.INFO, __file__, 1, message, (), None)
    record.__dict__.update(fields)
    return FORMAT.format(record)


def handler_line(model_latency_ms: float) -> str:  # Powertools' JSON logger, as logic.predict logs
    return json.dumps({"level": "INFO", "message": "prediction", "service": "sentimentpulse", "texts": 1,
                       "model_latency_ms": model_latency_ms, "labels": {"POSITIVE": 1}})  # fmt: skip


def round_lines(api: float, handler: float, server_stack: float, server_direct: float) -> list[str]:
    """One round in log order: the stack request's server, handler and API lines, then the direct one's."""
    server = "sentimentpulse.model_server"
    return [
        local_line(server, "invocation", endpoint="e", status=200, texts=1, latency_ms=server_stack),
        handler_line(handler),
        '{"_aws": {"CloudWatchMetrics": []}, "TextsPerRequest": [1.0]}',  # the EMF metrics line
        local_line("sentimentpulse.local_api", "request", method="POST", path="/predict", status=200, latency_ms=api),
        local_line(server, "invocation", endpoint="e", status=200, texts=1, latency_ms=server_direct),
    ]


def test_each_layer_gets_its_own_latency() -> None:
    warmup = round_lines(90.0, 80.0, 70.0, 60.0)  # earlier lines must not be attributed
    timed = [(10.0, 7.0, 4.0, 3.5), (12.0, 8.0, 5.0, 4.5), (11.0, 9.0, 6.0, 3.0)]
    lines = ["waiting for the model server", local_line("sentimentpulse.local_api", "request", latency_ms=1.0)]
    lines += warmup + [line for values in timed for line in round_lines(*values)]
    result = split(lines, stack_ms=[13.0, 15.0, 13.5], direct_ms=[5.0, 6.5, 4.0])
    assert result.rounds == 3
    assert result.stack_ms == 13.5 and result.direct_ms == 5.0 and result.added_ms == 8.5
    assert result.client_to_api_ms == 3.0  # 13-10, 15-12, 13.5-11
    assert result.api_and_handler_ms == 3.0  # 10-7, 12-8, 11-9 -> 3, 4, 2
    assert result.botocore_ms == 3.0  # 7-4, 8-5, 9-6
    assert result.server_in_stack_ms == 5.0
    assert result.server_direct_ms == 3.5
    assert result.client_to_server_ms == 1.5  # 5-3.5, 6.5-4.5, 4-3


def test_missing_lines_are_an_error_not_a_guess() -> None:
    lines = round_lines(10.0, 7.0, 4.0, 3.0)[:-1]  # the direct request's server line is missing
    with pytest.raises(ValueError, match="1 server lines for 1 rounds"):
        split(lines, stack_ms=[12.0], direct_ms=[5.0])
