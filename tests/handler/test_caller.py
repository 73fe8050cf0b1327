"""Who called, on the request's log lines: the claims a JWT authorizer passes, the IAM signer, or anonymous.

`sam local` and the local stack run no JWT authorizer, so this is where the deployed JWT path is tested:
with the event API Gateway sends after it has validated a token (events/predict-jwt-claims.json).
"""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.support import expected_call, lambda_context, load_event, model_answer

pytestmark = pytest.mark.unit

SEED = "This product is amazing, I loved it!"
ANSWER = [{"label": "POSITIVE", "score": 0.99}]


def request_logs(handler_app: Any, stubber: Stubber, log_stream: io.StringIO, event: dict[str, Any]) -> list[Any]:
    stubber.add_response("invoke_endpoint", model_answer(ANSWER), expected_call([SEED]))
    start = len(log_stream.getvalue())
    response = handler_app.lambda_handler(event, lambda_context())
    assert response["statusCode"] == 200 and json.loads(response["body"])[0]["label"] == "POSITIVE"
    return [json.loads(line) for line in log_stream.getvalue()[start:].splitlines()]


def test_jwt_claims_name_the_caller_and_the_token_is_never_logged(
    handler_app: Any, stubber: Stubber, log_stream: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event("predict-jwt-claims.json")
    token = event["headers"]["authorization"].removeprefix("Bearer ")
    lines = request_logs(handler_app, stubber, log_stream, event)
    assert lines and all(line["caller"] == "jwt:3f1c2a9e-7b4d-4c1e-9a55-0e2b6d8f1a23" for line in lines)
    assert all(line["scopes"] == ["sentiment/predict"] for line in lines)
    assert token not in log_stream.getvalue() and token not in capsys.readouterr().out


def test_a_machine_token_without_sub_names_its_client(
    handler_app: Any, stubber: Stubber, log_stream: io.StringIO
) -> None:
    event = load_event("predict-jwt-claims.json")
    del event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    lines = request_logs(handler_app, stubber, log_stream, event)
    assert {line["caller"] for line in lines} == {"jwt:web-client"}


def test_iam_names_the_signer_and_no_authorizer_is_anonymous_with_nothing_left_over(
    handler_app: Any, stubber: Stubber, log_stream: io.StringIO
) -> None:
    signed = copy.deepcopy(load_event("predict-seed.json"))
    arn = "arn:aws:iam::123456789012:user/ci"
    signed["requestContext"]["authorizer"] = {"iam": {"accountId": "123456789012", "userArn": arn, "userId": "AIDA"}}
    assert {line["caller"] for line in request_logs(handler_app, stubber, log_stream, signed)} == {f"iam:{arn}"}
    jwt = load_event("predict-jwt-claims.json")
    request_logs(handler_app, stubber, log_stream, jwt)
    lines = request_logs(handler_app, stubber, log_stream, load_event("predict-seed.json"))
    assert {line["caller"] for line in lines} == {"anonymous"}  # not the previous request's caller
    assert all("scopes" not in line for line in lines)
