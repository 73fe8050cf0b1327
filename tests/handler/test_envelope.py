"""The envelope (content type, size, encoding) is judged before the body: 413/415/400 never depend
on whether the body would have parsed or matched the schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handler.contract import MAX_BODY_BYTES
from tests.support import corpus_event, lambda_context

pytestmark = pytest.mark.unit

PADDING = "z" * (MAX_BODY_BYTES + 1)
BODIES = {
    "valid": b'{"text": "fine"}',
    "not JSON": b'{"text": ',
    "schema mismatch": b'{"nope": 1}',
    "duplicate keys": b'{"text": "a", "text": "b"}',
    "empty": b"",
}


def answer(handler_app: Any, raw: bytes, content_type: str | None) -> tuple[int, str]:
    case = {"method": "POST", "path": "/prod/predict", "content_type": content_type, "raw": raw}
    response = handler_app.lambda_handler(corpus_event(case), lambda_context())
    return response["statusCode"], json.loads(response["body"])["error"]["code"]


@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type_is_415_whatever_the_body(handler_app: Any, content_type: str, body: str) -> None:
    assert answer(handler_app, BODIES[body], content_type) == (415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"text": PADDING}).encode(),  # valid JSON, fails the schema (too long)
        b'{"text": "' + PADDING.encode(),  # not JSON
        json.dumps({"nope": PADDING}).encode(),  # schema mismatch
    ],
    ids=["schema-too-long", "not-json", "wrong-field"],
)
def test_oversized_body_is_413_whatever_it_contains(handler_app: Any, raw: bytes) -> None:
    assert answer(handler_app, raw, "application/json") == (413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("raw", [b'{"text": "\xff\xfe"}', b"\xff{not json"], ids=["json-shaped", "garbage"])
def test_invalid_utf8_is_400_whatever_it_contains(handler_app: Any, raw: bytes) -> None:
    assert answer(handler_app, raw, "application/json") == (400, "INVALID_ENCODING")


def test_openapi_document_still_describes_the_predict_body(handler_app: Any) -> None:
    schema = json.loads(handler_app.app.get_openapi_json_schema())
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/PredictRequest")
    assert {"413", "415", "422"} <= set(schema["paths"]["/predict"]["post"]["responses"])


def test_openapi_document_publishes_the_token_budget(handler_app: Any) -> None:
    from handler.contract import MAX_REQUEST_TOKENS

    schema = json.loads(handler_app.app.get_openapi_json_schema())
    request = schema["components"]["schemas"]["PredictRequest"]
    assert request["x-max-request-tokens"] == MAX_REQUEST_TOKENS
    assert f"at most {MAX_REQUEST_TOKENS} tokens" in request["description"]
