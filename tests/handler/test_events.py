"""Every recorded event in events/ goes through lambda_handler and gets its documented answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from devstack.expectations import EXPECTED, NEGATIVE, SEED
from tests.support import event_names, expected_call, lambda_context, load_event, model_answer

pytestmark = pytest.mark.unit


def fake_predictions(texts: list[str]) -> list[dict[str, Any]]:
    return [{"label": "NEGATIVE" if t == NEGATIVE else "POSITIVE", "score": 0.9 + i / 100} for i, t in enumerate(texts)]


def test_every_event_file_has_an_expectation() -> None:
    assert sorted(EXPECTED) == event_names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event(name: str, handler_app: Any, stubber: Stubber) -> None:
    expected = EXPECTED[name]
    texts = list(expected.texts or [])
    if expected.texts is not None:
        stubber.add_response("invoke_endpoint", model_answer(fake_predictions(texts)), expected_call(texts))
    event = load_event(name)

    response = handler_app.lambda_handler(event, lambda_context())

    assert expected.mismatch(response["statusCode"], response["body"]) is None
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    if expected.texts is not None:
        assert body == fake_predictions(texts)  # scores pass through untouched
    elif expected.code is not None:
        assert body["error"]["requestId"] == event["requestContext"]["requestId"]


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
