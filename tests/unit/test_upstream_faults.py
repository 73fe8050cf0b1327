"""Every upstream fault maps to its documented status, with a fixed message and no leak."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from devstack.expectations import SEED
from tests.support import expected_call, lambda_context, load_event, model_answer


def invoke(handler_app: Any) -> tuple[int, dict[str, str], dict[str, Any]]:
    response = handler_app.lambda_handler(load_event("predict-seed.json"), lambda_context())
    return response["statusCode"], response["headers"], json.loads(response["body"])


def assert_no_leak(body: dict[str, Any], *secrets: str) -> None:
    text = json.dumps(body)
    for forbidden in ("Traceback", "botocore", "Exception", "Error:", ".py", *secrets):
        assert forbidden not in text


@pytest.mark.parametrize(
    ("error_code", "http_status", "extra", "status", "code", "retry_after"),
    [
        (
            "ModelError",
            424,
            {"OriginalStatusCode": 500, "OriginalMessage": "SP_MODEL_FAILURE: RuntimeError in forward"},
            502,
            "MODEL_ERROR",
            None,
        ),
        (
            "ModelError",
            424,
            {"OriginalStatusCode": 400, "OriginalMessage": "SP_BAD_INPUT: 'inputs' must be a string"},
            422,
            "INPUT_REJECTED",
            None,
        ),
        ("ValidationError", 400, {}, 503, "MODEL_UNAVAILABLE", "5"),
        ("ThrottlingException", 400, {}, 503, "MODEL_THROTTLED", "2"),
        ("ServiceUnavailable", 503, {}, 503, "MODEL_UNAVAILABLE", "5"),
        ("ModelNotReadyException", 429, {}, 503, "MODEL_UNAVAILABLE", "5"),
        ("InternalFailure", 500, {}, 503, "MODEL_UNAVAILABLE", "5"),
        ("AccessDeniedException", 403, {}, 502, "MODEL_ERROR", None),
    ],
)
def test_client_errors(
    handler_app: Any,
    stubber: Stubber,
    error_code: str,
    http_status: int,
    extra: dict[str, Any],
    status: int,
    code: str,
    retry_after: str | None,
) -> None:
    secret = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/secret-endpoint"
    # Stubber answers above botocore's retry loop: one stubbed answer is one call.
    stubber.add_client_error(
        "invoke_endpoint",
        service_error_code=error_code,
        service_message=f"Endpoint {secret} said no",
        http_status_code=http_status,
        modeled_fields=extra,
        expected_params=expected_call([SEED]),
    )
    got_status, headers, body = invoke(handler_app)
    assert got_status == status
    assert body["error"]["code"] == code
    assert headers.get("Retry-After") == retry_after
    assert_no_leak(body, secret, "SP_MODEL_FAILURE", "RuntimeError")


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (ReadTimeoutError(endpoint_url="http://model/invocations"), 504, "MODEL_TIMEOUT"),
        (ConnectTimeoutError(endpoint_url="http://model/invocations"), 503, "MODEL_UNAVAILABLE"),
        (EndpointConnectionError(endpoint_url="http://model/invocations"), 503, "MODEL_UNAVAILABLE"),
    ],
)
def test_transport_errors(
    handler_app: Any, monkeypatch: pytest.MonkeyPatch, exc: Exception, status: int, code: str
) -> None:
    def raise_it(**kwargs: Any) -> None:
        raise exc

    monkeypatch.setattr(handler_app.endpoint._client, "invoke_endpoint", raise_it)
    got_status, _, body = invoke(handler_app)
    assert (got_status, body["error"]["code"]) == (status, code)
    assert_no_leak(body, "http://model")


@pytest.mark.parametrize(
    "answer",
    [
        b"<html>gateway error</html>",
        b"",
        {"label": "POSITIVE", "score": 0.9},  # not a list
        [],  # wrong count
        [{"label": "POSITIVE", "score": 0.9}, {"label": "NEGATIVE", "score": 0.8}],  # wrong count
        [{"label": "POSITIVE"}],  # no score
        [{"label": "POSITIVE", "score": 1.5}],  # not a probability
        [{"label": "POSITIVE", "score": "high"}],
    ],
)
def test_malformed_model_response_is_502(handler_app: Any, stubber: Stubber, answer: Any) -> None:
    stubber.add_response("invoke_endpoint", model_answer(answer), expected_call([SEED]))
    status, _, body = invoke(handler_app)
    assert (status, body["error"]["code"]) == (502, "MODEL_RESPONSE_INVALID")
