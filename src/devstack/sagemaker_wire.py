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
# Content types the toolkit decodes to str (UTF-8) before input_fn (handler_service.handle).
UTF8_TYPES = ("application/json", "text/csv", "text/plain")


def runtime_error(status: int, error_type: str, body: dict[str, Any]) -> web.Response:
    return web.json_response(body, status=status, headers={"x-amzn-ErrorType": f"{error_type}:"})


def container_error(message: str, status: int = 400) -> str:
    """The container's error body, as multi-model-server writes it."""
    return json.dumps({"code": status, "type": "InternalServerException", "message": message}, indent=2)


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
