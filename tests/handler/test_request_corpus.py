"""The bad-input corpus through lambda_handler: 4xx in the envelope, never 5xx, nothing leaked or logged."""

from __future__ import annotations

import base64
import io
import json
import re
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from tests.support import corpus_event, lambda_context, model_answer, request_corpus

pytestmark = pytest.mark.unit

CANARY, CASES = request_corpus()
JSON = "application/json"
LEAKS = re.compile(
    r"Traceback|File \"|\.py\b|Exception|Error\(|pydantic|botocore|aws_lambda_powertools|/opt/|/var/task"
)


def test_corpus_is_big_enough() -> None:
    bad = [c for c in CASES if c["status"] >= 400]
    assert len(bad) >= 40
    assert all(400 <= c["status"] < 500 for c in bad)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_through_the_handler(
    case: dict[str, Any],
    handler_app: Any,
    stubber: Stubber,
    log_stream: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = corpus_event(case)
    if case["status"] == 200:
        raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"]
        count = len(json.loads(raw).get("texts", [None]))
        expected = {"EndpointName": "sentimentpulse-local", "ContentType": JSON, "Accept": JSON, "Body": ANY}
        stubber.add_response("invoke_endpoint", model_answer([{"label": "POSITIVE", "score": 0.9}] * count), expected)

    response = handler_app.lambda_handler(event, lambda_context())

    assert response["statusCode"] == case["status"], response["body"][:300]
    body = json.loads(response["body"])
    if case["status"] == 200:
        assert len(body) == count
    else:
        assert set(body) == {"error"}
        assert body["error"]["code"] == case["code"]
        assert body["error"]["requestId"] == event["requestContext"]["requestId"]
        assert not LEAKS.search(response["body"]), response["body"]
        assert CANARY not in response["body"]  # error bodies never echo the input
    out = capsys.readouterr()
    assert CANARY not in log_stream.getvalue() + out.out + out.err  # request text never reaches the logs
    assert log_stream.getvalue()  # something was logged, so the check above means something
