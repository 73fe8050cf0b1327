"""What a Lambda execution environment gives the handler: its environment and its context.

One reader of ``events/env.json`` (the file ``sam local --env-vars`` reads) and one context
stand-in, shared by the local API's workers, the unit tests and the benchmark. The function's
timeout comes from ``FUNCTION_TIMEOUT_SECONDS`` in that environment: the template sets both the
function's ``Timeout`` and that variable from one parameter, so the context's deadline is the
deployed one.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ENV_FILE = ROOT / "events" / "env.json"
FUNCTION = "PredictFunction"
FUNCTION_NAME = "sentimentpulse-predict"
TIMEOUT_VARIABLE = "FUNCTION_TIMEOUT_SECONDS"


def model_endpoints(url: str) -> dict[str, str]:
    """The standard botocore settings that point the function's SageMaker clients at a local server:
    the runtime (InvokeEndpoint) and the control plane (DescribeEndpoint, for GET /health?deep=true)."""
    return {"AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url, "AWS_ENDPOINT_URL_SAGEMAKER": url}


def function_environment(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The function's variables as ``sam local`` gets them (events/env.json), with ``overrides`` applied."""
    env: dict[str, str] = json.loads(ENV_FILE.read_text(encoding="utf-8"))[FUNCTION]
    env.update(overrides or {})
    return env


class LambdaContext:
    """The parts of Lambda's context object the handler and Powertools read."""

    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"

    def __init__(self, timeout_seconds: float, request_id: str | None = None) -> None:
        self.function_name = FUNCTION_NAME
        self.aws_request_id = request_id or str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
