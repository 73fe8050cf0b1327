"""How SageMaker answers, on the wire: the runtime API's errors and the serving container's.

- The runtime API (what boto3's ``sagemaker-runtime`` client calls) signals errors with an
  ``x-amzn-ErrorType`` header and a JSON body, so botocore raises its real exceptions: a failure inside
  the container is ``ModelError`` (HTTP 424) carrying the container's ``OriginalStatusCode`` and
  ``OriginalMessage``; an unknown endpoint is ``ValidationError``.
- The container (multi-model-server under the Hugging Face toolkit) answers every exception raised by
  the inference hooks, or by the toolkit around them, with 400 and a JSON body
  ``{"code": 400, "type": "InternalServerException", "message": str(exception)}`` (measured on the
  real stack: tests/devstack/dlc). That body is what reaches the runtime API as ``OriginalMessage``.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

ACCOUNT = "123456789012"
REGION = "us-east-1"
DESCRIBE_ENDPOINT = "SageMaker.DescribeEndpoint"  # X-Amz-Target of the control plane's JSON protocol
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"  # the container's, passed through by the runtime API
# Content types the toolkit decodes to str (UTF-8) before input_fn (handler_service.handle).
UTF8_TYPES = ("application/json", "text/csv", "text/plain")


def runtime_error(status: int, error_type: str, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status, headers={"x-amzn-ErrorType": f"{error_type}:"})


_GSON_ESCAPES = {ord(c): f"\\u{ord(c):04x}" for c in "<>&='"}  # Gson's HTML-safe default


def container_error(message: str, status: int = 400) -> str:
    """The container's error body, as multi-model-server writes it: Gson escapes ``<>&='`` as ``\\u00xx``."""
    body = json.dumps({"code": status, "type": "InternalServerException", "message": message}, indent=2)
    return body.translate(_GSON_ESCAPES)


def model_error(endpoint: str, original_status: int, original_body: str) -> web.Response:
    kind = "client" if original_status < 500 else "server"
    return runtime_error(
        424,
        "ModelError",
        {
            "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
            "LogStreamArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{endpoint}",
            "Message": f'Received {kind} error ({original_status}) from primary with message "{original_body}".',
            "OriginalMessage": original_body,
            "OriginalStatusCode": original_status,
        },
    )


def unknown_endpoint(name: str) -> web.Response:
    return runtime_error(400, "ValidationError", {"message": f"Endpoint {name} of account {ACCOUNT} not found."})


async def describe_endpoint(request: web.Request, endpoint: str, status: str) -> web.Response:
    """The control plane's answer to DescribeEndpoint (awsJson1_1: ``POST /`` with X-Amz-Target), for
    GET /health?deep=true; any other action is refused as SageMaker refuses an unknown one."""
    target = request.headers.get("X-Amz-Target", "")
    try:
        parsed = json.loads(await request.read() or b"{}")
    except json.JSONDecodeError:
        parsed = {}
    body = parsed if isinstance(parsed, dict) else {}
    if target != DESCRIBE_ENDPOINT:
        return runtime_error(400, "UnknownOperationException", {"message": f"{target} is not served locally"})
    name = str(body.get("EndpointName", ""))
    if name != endpoint:
        return runtime_error(400, "ValidationException", {"message": f'Could not find endpoint "{name}".'})
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{endpoint}"
    answer = {"EndpointName": endpoint, "EndpointArn": arn, "EndpointConfigName": endpoint, "EndpointStatus": status}
    return web.json_response(
        {**answer, "CreationTime": 0, "LastModifiedTime": 0}, content_type="application/x-amz-json-1.1"
    )
