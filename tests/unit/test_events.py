"""Every recorded event in events/ goes through lambda_handler and gets its documented answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from tests.support import LambdaContext, event_names, expected_call, load_event, model_answer

SEED = "This product is amazing, I loved it!"
BATCH = [SEED, "This was a terrible waste of money.", "An absolute joy from start to finish."]

# file -> (status, error code or None, texts sent to the model or None)
EXPECTED: dict[str, tuple[int, str | None, list[str] | None]] = {
    "predict-seed.json": (200, None, [SEED]),
    "predict-seed-sam-local.json": (200, None, [SEED]),
    "predict-base64-body.json": (200, None, [SEED]),
    "predict-batch.json": (200, None, BATCH),
    "predict-empty-text.json": (422, "VALIDATION_ERROR", None),
    "predict-missing-field.json": (422, "VALIDATION_ERROR", None),
    "predict-wrong-types.json": (422, "VALIDATION_ERROR", None),
    "predict-invalid-json.json": (400, "INVALID_JSON", None),
    "predict-too-many-texts.json": (422, "VALIDATION_ERROR", None),
    "predict-text-too-long.json": (422, "VALIDATION_ERROR", None),
    "predict-wrong-method.json": (405, "METHOD_NOT_ALLOWED", None),
    "predict-wrong-content-type.json": (415, "UNSUPPORTED_MEDIA_TYPE", None),
    "unknown-path.json": (404, "NOT_FOUND", None),
    "openapi.json": (200, None, None),
}


def fake_predictions(texts: list[str]) -> list[dict[str, Any]]:
    return [
        {"label": "NEGATIVE" if "terrible" in t else "POSITIVE", "score": 0.9 + i / 100} for i, t in enumerate(texts)
    ]


def test_every_event_file_has_an_expectation() -> None:
    assert sorted(EXPECTED) == event_names()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event(name: str, handler_app: Any, stubber: Stubber) -> None:
    status, code, texts = EXPECTED[name]
    if texts is not None:
        stubber.add_response("invoke_endpoint", model_answer(fake_predictions(texts)), expected_call(texts))
    event = load_event(name)

    response = handler_app.lambda_handler(event, LambdaContext())

    assert response["statusCode"] == status
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    if texts is not None:
        assert body == fake_predictions(texts)
    elif code is not None:
        assert body["error"]["code"] == code
        assert body["error"]["requestId"] == event["requestContext"]["requestId"]
        assert set(body) == {"error"}
    else:
        assert body["openapi"].startswith("3.")
        assert "/predict" in body["paths"]


def test_seed_request_returns_the_contract_shape(handler_app: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "invoke_endpoint", model_answer([{"label": "POSITIVE", "score": 0.9996}]), expected_call([SEED])
    )
    response = handler_app.lambda_handler(load_event("predict-seed.json"), LambdaContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == [{"label": "POSITIVE", "score": 0.9996}]


def test_validation_details_name_the_field_without_echoing_input(handler_app: Any) -> None:
    response = handler_app.lambda_handler(load_event("predict-too-many-texts.json"), LambdaContext())
    body = json.loads(response["body"])
    assert body["error"]["details"] == [
        {"field": "texts", "issue": "List should have at most 64 items after validation, not 65"}
    ]
    assert "review number" not in response["body"]
