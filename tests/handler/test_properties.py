"""Property-based tests (hypothesis): no input makes the request model or the handler fail with a 5xx."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.response import StreamingBody
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from handler.contract import PredictRequest
from tests.support import corpus_event, lambda_context

pytestmark = pytest.mark.unit

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
request_like = st.fixed_dictionaries(
    {}, optional={"text": json_values | st.text(max_size=60), "texts": st.lists(st.text(max_size=30), max_size=70)}
) | st.dictionaries(st.sampled_from(["text", "texts", "extra", "Text"]), json_values, max_size=3)


@given(request_like)
@settings(max_examples=300, deadline=None)
def test_request_model_accepts_or_rejects_cleanly(body: dict[str, Any]) -> None:
    try:
        request = PredictRequest.model_validate(body)
    except ValidationError:
        return
    texts = request.as_texts()
    assert 1 <= len(texts) <= 64
    assert all(isinstance(t, str) and t.strip() for t in texts)


class HealthyModel:
    """Answers like the endpoint would: one {label, score} per input text."""

    def __init__(self) -> None:
        self.calls = 0

    def invoke_endpoint(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        texts = json.loads(kwargs["Body"])["inputs"]
        data = json.dumps([{"label": "POSITIVE", "score": 0.75} for _ in texts]).encode()
        return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"}


@pytest.fixture
def healthy(handler_app: Any) -> Iterator[HealthyModel]:
    model = HealthyModel()
    original = handler_app.endpoint._client
    handler_app.endpoint._client = model
    yield model
    handler_app.endpoint._client = original


bodies = (
    json_values.map(lambda v: json.dumps(v).encode())
    | request_like.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=200)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
content_types = st.sampled_from(
    [None, "application/json", "application/json; charset=utf-8", "text/plain", "application/octet-stream"]
)
methods = st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE"])
paths = st.sampled_from(["/predict", "/prod/predict", "/predict/", "/", "/openapi.json", "/x"])


@given(body=bodies, content_type=content_types, method=methods, path=paths)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_handler_never_answers_5xx_with_a_healthy_model(
    handler_app: Any, healthy: HealthyModel, body: bytes, content_type: str | None, method: str, path: str
) -> None:
    case = {"method": method, "path": path, "content_type": content_type, "raw": body}
    response = handler_app.lambda_handler(corpus_event(case), lambda_context())
    assert response["statusCode"] < 500, response["body"]
    parsed = json.loads(response["body"])
    if response["statusCode"] >= 400:
        assert set(parsed) == {"error"}


def _nested(depth: int, open_: str, close: str, leaf: str) -> bytes:
    return (open_ * depth + leaf + close * depth).encode()


adversarial_json = st.one_of(
    # nesting far past the parser's recursion limit, as arrays, objects and inside the text field
    st.integers(min_value=500, max_value=200_000).map(lambda d: _nested(d, "[", "]", "1")),
    st.integers(min_value=500, max_value=100_000).map(lambda d: _nested(d, '{"a":', "}", "1")),
    st.integers(min_value=500, max_value=100_000).map(lambda d: b'{"text": ' + _nested(d, "[", "]", '"x"') + b"}"),
    # numbers: more digits than Python converts, exponents past float range, NaN and Infinity literals
    st.integers(min_value=4_301, max_value=200_000).map(lambda n: b'{"text": ' + b"9" * n + b"}"),
    st.sampled_from([b'{"text": 1e999999}', b'{"text": -1e-999999}', b'{"text": NaN}', b'{"text": -Infinity}']),
    # keys: long, many, duplicated, invalid escapes and unpaired surrogates
    st.integers(min_value=1, max_value=300_000).map(lambda n: json.dumps({"k" * n: 1, "text": "ok"}).encode()),
    st.integers(min_value=1, max_value=60_000).map(lambda n: json.dumps({f"k{i}": i for i in range(n)}).encode()),
    st.sampled_from([b'{"text": "a", "text": "b"}', b'{"\\ud800": 1}', b'{"text": "\\x41"}', b'{"text": "\\u12"}']),
    # trailing garbage (JSON whitespace alone after the object is no garbage: the body stays valid)
    st.binary(min_size=1, max_size=50).filter(lambda b: b.strip(b" \t\r\n")).map(lambda b: b'{"text": "ok"}' + b),
)


@given(body=adversarial_json)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_parser_level_input_is_a_4xx_never_a_5xx(handler_app: Any, healthy: HealthyModel, body: bytes) -> None:
    case = {"method": "POST", "path": "/prod/predict", "content_type": "application/json", "raw": body}
    response = handler_app.lambda_handler(corpus_event(case), lambda_context())
    assert 400 <= response["statusCode"] < 500, response["body"][:200]
    error = json.loads(response["body"])["error"]
    try:
        json.loads(body)
    except (ValueError, RecursionError):  # what the parser cannot read is always INVALID_JSON (or too large)
        assert error["code"] in {"INVALID_JSON", "INVALID_ENCODING", "PAYLOAD_TOO_LARGE"}, error
