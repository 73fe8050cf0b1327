"""Every recorded event in events/ goes through lambda_handler and gets its documented answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from devstack.expectations import EXPECTED, NEGATIVE, SEED, Expected
from tests.support import event_names, expected_call, lambda_context, load_event, model_answer

pytestmark = pytest.mark.unit

USAGE = "tokens=11;truncated=0;model=sha256:" + "ab" * 32
REPORT = {
    "model_id": "archive",
    "revision": "sha256:" + "ab" * 32,
    "name": "SentimentPulse embedded sentiment model",
    "labels": ["NEGATIVE", "POSITIVE"],
    "inference_sha256": "cd" * 32,
    "code_sha256": "ef" * 32,
    "variant": "fp32",
    "max_length": 512,
}


def fake_predictions(texts: list[str]) -> list[dict[str, Any]]:
    return [{"label": "NEGATIVE" if t == NEGATIVE else "POSITIVE", "score": 0.9 + i / 100} for i, t in enumerate(texts)]


def fake_answer(expected: Expected, texts: list[str]) -> list[Any]:
    if expected.kind != "ranked":
        return fake_predictions(texts)
    logits = expected.scores == "logit"
    return [
        [
            {"label": p["label"], "score": 3.1 if logits else p["score"]},
            {"label": "OTHER", "score": -2.0 if logits else 0.01},
        ]
        for p in fake_predictions(texts)
    ]


def stub_model(expected: Expected, handler_app: Any, stubber: Stubber, control: Stubber) -> Any:
    """Stub what the event makes the function call; returns the model's answer (None: no call)."""
    texts = list(expected.texts or [])
    options = dict(expected.parameters)
    if expected.code == "TEXT_TOO_LONG":
        message = "SP_BAD_INPUT: SP_TOO_LONG: max_length=512 texts=0:602"
        stubber.add_client_error(
            "invoke_endpoint", "ModelError", message, 424, {"OriginalMessage": message, "OriginalStatusCode": 400},
            expected_params=expected_call(texts, **options),
        )  # fmt: skip
    elif expected.texts is not None and expected.status == 200:
        answer = fake_answer(expected, texts)
        stubber.add_response("invoke_endpoint", model_answer(answer, USAGE), expected_call(texts, **options))
        return answer
    elif expected.kind == "info":
        call = {**expected_call([]), "Body": json.dumps({"inputs": [], "parameters": {"info": True}}).encode()}
        stubber.add_response("invoke_endpoint", model_answer(REPORT), call)
    elif expected.kind == "deep-health":
        control.add_response("describe_endpoint", DESCRIBED, {"EndpointName": "sentimentpulse-local"})
    return None


DESCRIBED = {
    "EndpointName": "sentimentpulse-local",
    "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/sentimentpulse-local",
    "EndpointConfigName": "c",
    "EndpointStatus": "InService",
    "CreationTime": 0,
    "LastModifiedTime": 0,
}


@pytest.fixture
def control(handler_app: Any) -> Any:
    with Stubber(handler_app.endpoint._control_client()) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_every_event_file_has_an_expectation() -> None:
    assert sorted(EXPECTED) == event_names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event(name: str, handler_app: Any, stubber: Stubber, control: Stubber) -> None:
    expected = EXPECTED[name]
    answer = stub_model(expected, handler_app, stubber, control)
    event = load_event(name)

    response = handler_app.lambda_handler(event, lambda_context())

    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert expected.mismatch(response["statusCode"], response["body"], headers) is None
    assert headers["content-type"] == ("text/html" if expected.kind == "docs" else "application/json")
    if answer is not None:
        assert json.loads(response["body"]) == answer  # scores pass through untouched
        assert headers["x-compute-tokens"] == "11" and headers["x-truncated-texts"] == "0"
        assert headers["x-model-version"] == "sha256:" + "ab" * 32
    elif expected.code is not None:
        assert json.loads(response["body"])["error"]["requestId"] == event["requestContext"]["requestId"]


def test_seed_request_returns_the_contract_shape(handler_app: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "invoke_endpoint", model_answer([{"label": "POSITIVE", "score": 0.9996}]), expected_call([SEED])
    )
    response = handler_app.lambda_handler(load_event("predict-seed.json"), lambda_context())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == [{"label": "POSITIVE", "score": 0.9996}]


def test_validation_details_name_the_field_without_echoing_input(handler_app: Any) -> None:
    response = handler_app.lambda_handler(load_event("predict-too-many-texts.json"), lambda_context())
    body = json.loads(response["body"])
    assert body["error"]["details"] == [
        {"field": "texts", "issue": "List should have at most 64 items after validation, not 65"}
    ]
    assert "review number" not in response["body"]


def test_too_long_texts_are_named_in_details(handler_app: Any, stubber: Stubber, control: Stubber) -> None:
    stub_model(EXPECTED["predict-no-truncate-too-long.json"], handler_app, stubber, control)
    response = handler_app.lambda_handler(load_event("predict-no-truncate-too-long.json"), lambda_context())
    details = json.loads(response["body"])["error"]["details"]
    assert details == [{"field": "texts.0", "issue": "602 tokens; the model reads at most 512"}]
