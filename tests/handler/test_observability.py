"""What the function emits per request: EMF metrics and structured logs, and never request text."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from botocore.stub import Stubber

from devstack.lambda_env import function_environment
from tests.support import expected_call, lambda_context, load_event, model_answer

pytestmark = pytest.mark.unit

BATCH = [
    "This product is amazing, I loved it!",
    "This was a terrible waste of money.",
    "An absolute joy from start to finish.",
]


def emitted(
    capsys: pytest.CaptureFixture[str], log_stream: io.StringIO
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    logs = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    return metrics, logs


def test_batch_request_metrics_and_logs(
    handler_app: Any, stubber: Stubber, capsys: pytest.CaptureFixture[str], log_stream: io.StringIO
) -> None:
    answer = [
        {"label": "POSITIVE", "score": 0.99},
        {"label": "NEGATIVE", "score": 0.97},
        {"label": "POSITIVE", "score": 0.9},
    ]
    stubber.add_response("invoke_endpoint", model_answer(answer), expected_call(BATCH))
    capsys.readouterr()

    response = handler_app.lambda_handler(load_event("predict-batch.json"), lambda_context())
    assert response["statusCode"] == 200

    metrics, logs = emitted(capsys, log_stream)
    app_metrics = next(m for m in metrics if "TextsPerRequest" in m)
    definitions = {d["Name"]: d["Unit"] for d in app_metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert definitions == {
        "TextsPerRequest": "Count",
        "ModelLatency": "Milliseconds",
        "LabelPositive": "Count",
        "LabelNegative": "Count",
    }
    assert app_metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SentimentPulse"
    assert app_metrics["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert app_metrics["TextsPerRequest"] == [3.0]
    assert (app_metrics["LabelPositive"], app_metrics["LabelNegative"]) == ([2.0], [1.0])

    prediction_log = next(line for line in logs if line["message"] == "prediction")
    assert prediction_log["correlation_id"] == "batch-0001"
    assert isinstance(prediction_log["cold_start"], bool)
    assert prediction_log["texts"] == 3
    assert prediction_log["model_latency_ms"] >= 0
    assert prediction_log["labels"] == {"POSITIVE": 2, "NEGATIVE": 1}


def test_errors_are_counted_by_code(
    handler_app: Any, capsys: pytest.CaptureFixture[str], log_stream: io.StringIO
) -> None:
    capsys.readouterr()
    handler_app.lambda_handler(load_event("predict-invalid-json.json"), lambda_context())
    metrics, logs = emitted(capsys, log_stream)
    error_metric = next(m for m in metrics if "Errors" in m)
    assert error_metric["ErrorCode"] == "INVALID_JSON"
    assert error_metric["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["ErrorCode", "service"]]
    failure = next(line for line in logs if line["message"] == "request failed")
    assert (failure["status"], failure["error_code"], failure["correlation_id"]) == (
        400,
        "INVALID_JSON",
        "invalidjson-0001",
    )


def test_request_texts_never_reach_the_logs(
    handler_app: Any, stubber: Stubber, capsys: pytest.CaptureFixture[str], log_stream: io.StringIO
) -> None:
    stubber.add_response(
        "invoke_endpoint", model_answer([{"label": "POSITIVE", "score": 0.9}] * 3), expected_call(BATCH)
    )
    capsys.readouterr()
    handler_app.lambda_handler(load_event("predict-batch.json"), lambda_context())
    out = capsys.readouterr()
    assert "prediction" in log_stream.getvalue()
    for text in BATCH:
        assert text not in out.out + out.err + log_stream.getvalue()


@pytest.mark.parametrize(("trace_disabled", "traced"), [("true", False), ("false", True)])
def test_the_xray_sdk_is_imported_only_when_tracing_is_on(trace_disabled: str, traced: bool) -> None:
    """TracingMode PassThrough (POWERTOOLS_TRACE_DISABLED=true) keeps X-Ray off the cold start.
    A fresh interpreter, since the module-level tracer is decided once, at import."""
    env = {
        **os.environ,
        **function_environment({"POWERTOOLS_TRACE_DISABLED": trace_disabled}),
        "LAMBDA_TASK_ROOT": "/var/task",  # inside Lambda, as Powertools checks
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }
    env.pop("AWS_SAM_LOCAL", None)
    probe = (
        "import sys, handler.app, handler.observability as o\n"
        "print('aws_xray_sdk' in sys.modules, bool(o.tracer))\n"
        "if o.tracer: from aws_xray_sdk.core import patcher; print(*sorted(patcher._PATCHED_MODULES))"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == [str(traced), str(traced)]
    if traced:  # only what the function calls out through is patched, not every library X-Ray supports
        assert lines[1].split() == ["botocore"]
