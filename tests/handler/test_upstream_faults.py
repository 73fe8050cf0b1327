"""Every upstream fault maps to its documented status, with a fixed message and no leak."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from devstack.expectations import SEED
from tests.support import expected_call, lambda_context, load_event, model_answer

pytestmark = pytest.mark.unit


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
        (
            "ModelError",
            424,
            {
                "OriginalStatusCode": 400,
                "OriginalMessage": "SP_BAD_INPUT: SP_TOKEN_BUDGET: 7000 tokens over the budget of 5120",
            },
            413,
            "TOO_MANY_TOKENS",
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
    # One stubbed answer is one call. Only throttling is sent again (SAGEMAKER_MAX_ATTEMPTS = 2): the
    # Stubber fails the test on a call it has no answer for, and on an answer left unused.
    attempts = 2 if error_code == "ThrottlingException" else 1
    for _ in range(attempts):
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
    ("exc", "status", "code", "attempts"),
    [
        # the model may still be computing: sending it again would double the work, so never
        (ReadTimeoutError(endpoint_url="http://model/invocations"), 504, "MODEL_TIMEOUT", 1),
        # the request never reached the model: one more attempt
        (ConnectTimeoutError(endpoint_url="http://model/invocations"), 503, "MODEL_UNAVAILABLE", 2),
        (EndpointConnectionError(endpoint_url="http://model/invocations"), 503, "MODEL_UNAVAILABLE", 2),
    ],
)
def test_transport_errors(
    handler_app: Any, monkeypatch: pytest.MonkeyPatch, exc: Exception, status: int, code: str, attempts: int
) -> None:
    calls: list[dict[str, Any]] = []

    def raise_it(**kwargs: Any) -> None:
        calls.append(kwargs)
        raise exc

    monkeypatch.setattr(handler_app.endpoint._client, "invoke_endpoint", raise_it)
    got_status, _, body = invoke(handler_app)
    assert (got_status, body["error"]["code"]) == (status, code)
    assert len(calls) == attempts
    assert_no_leak(body, "http://model")


def test_botocore_itself_makes_one_attempt(handler_app: Any) -> None:
    """Retries are the adapter's decision alone; botocore's own loop would also resend read timeouts."""
    config = handler_app.endpoint._client.meta.config
    assert config.retries["total_max_attempts"] == 1
    assert handler_app.endpoint.max_attempts == handler_app.settings.max_attempts == 2


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
