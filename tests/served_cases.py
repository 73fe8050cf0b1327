"""One case table for every tier that serves the API over HTTP: the local stack (our model server) and
the real-stack tier (the Hugging Face DLC's toolkit and multi-model-server behind the runtime front).

A tier imports these test functions and the fixtures below, and provides ``stack`` and ``api`` (the
local stack and its API, whose model server is the SageMaker runtime API the handler's boto3 client
calls) and ``broken_stack`` (the same, for a model whose ``model_fn`` raises).
Where the two tiers answer differently, the local server is the stand-in and changes to match.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devstack.expectations import EXPECTED, LONG, NEGATIVE, SEED
from devstack.stack import LocalStack
from tests.support import ROOT, Http, event_names, load_event, request_corpus

CANARY, CASES = request_corpus()
HTTP_CASES = [c for c in CASES if not c.get("event_only")]
ENDPOINT = "sentimentpulse-local"
BROKEN_VARIANT = "no-such-variant"  # SP_INFERENCE_VARIANT that makes model_fn raise


@pytest.fixture(scope="module")
def runtime_url(stack: LocalStack) -> str:
    return stack.model_url


@pytest.fixture(scope="module")
def broken_api(broken_stack: LocalStack) -> Http:
    return Http(broken_stack.api_url)


@pytest.fixture(scope="module")
def broken_runtime_url(broken_stack: LocalStack) -> str:
    return broken_stack.model_url


@pytest.mark.parametrize("name", event_names())
def test_recorded_event_over_http(api: Http, name: str) -> None:
    """Each events/ file, sent as the HTTP request it records, gets its documented status and body."""
    event = load_event(name)
    raw = event.get("body")
    body = base64.b64decode(raw) if raw is not None and event["isBase64Encoded"] else raw
    headers = {k: v for k, v in event["headers"].items() if k in {"content-type", "accept"}}
    path = event["rawPath"].removeprefix("/prod")  # the local API is the sam-local shape: no stage in the path
    query = f"?{event['rawQueryString']}" if event.get("rawQueryString") else ""
    status, answer_headers, response = api.request(
        event["requestContext"]["http"]["method"], path + query, body, headers
    )
    assert EXPECTED[name].mismatch(status, response, answer_headers) is None, response[:300]


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c["name"] for c in HTTP_CASES])
def test_bad_input_corpus_over_http(api: Http, case: dict[str, Any]) -> None:
    headers = {"Content-Type": case["content_type"]} if case["content_type"] else {}
    status, response_headers, raw = api.request(case["method"], case["path"], case["raw"], headers)
    assert status == case["status"], raw[:300]
    assert response_headers["content-type"] == "application/json"
    body = json.loads(raw)
    if status == 200:
        assert all(p["label"] in {"POSITIVE", "NEGATIVE"} for p in body)
    else:
        assert body["error"]["code"] == case["code"]
        assert CANARY.encode() not in raw


@dataclass(frozen=True)
class RuntimeCase:
    """One InvokeEndpoint call and what the runtime API answers: 200 with ``labels``, or ModelError
    carrying the container's ``status`` and a message that starts with ``message``."""

    name: str
    body: bytes
    content_type: str = "application/json"
    accept: str = "application/json"
    labels: tuple[str, ...] | None = None  # the best label of each text
    status: int | None = None
    message: str | None = None
    ranked: int | None = None  # with top_k: labels per text, best first
    logits: bool = False  # function_to_apply none: scores are any finite number
    usage: str = r"tokens=\d+;truncated=0;"  # what CustomAttributes must start with (texts given)


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


RUNTIME_CASES = [
    RuntimeCase("seed", _json({"inputs": [SEED]}), labels=("POSITIVE",)),
    RuntimeCase("one-string", _json({"inputs": NEGATIVE}), labels=("NEGATIVE",)),
    RuntimeCase("empty-list", _json({"inputs": []}), labels=()),
    RuntimeCase(
        "within-budget",
        _json({"inputs": [SEED, NEGATIVE], "parameters": {"truncation": True, "max_total_tokens": 2048}}),
        labels=("POSITIVE", "NEGATIVE"),
    ),
    RuntimeCase(
        "over-budget",  # refused inside predict_fn: the request's parameters reached it
        _json({"inputs": [SEED], "parameters": {"max_total_tokens": 3}}),
        status=400,
        message="SP_BAD_INPUT: SP_TOKEN_BUDGET",
    ),
    # The toolkit decodes the body before input_fn: that error carries no SP_ code (the Lambda: 502).
    RuntimeCase("not-utf-8", b'\xff\xfe{"inputs": ["x"]}', status=400, message="'utf-8' codec can't decode"),
    RuntimeCase("not-json", b"nope", status=400, message="SP_BAD_INPUT: body is not valid UTF-8 JSON"),
    RuntimeCase("inputs-not-text", _json({"inputs": 5}), status=400, message="SP_BAD_INPUT"),
    RuntimeCase(
        "parameters-not-object", _json({"inputs": ["x"], "parameters": [1]}), status=400, message="SP_BAD_INPUT"
    ),
    RuntimeCase("top-k-all", _json({"inputs": [SEED], "parameters": {"top_k": None}}), labels=("POSITIVE",), ranked=2),
    RuntimeCase(
        "top-1-sigmoid",
        _json({"inputs": [NEGATIVE, SEED], "parameters": {"top_k": 1, "function_to_apply": "sigmoid"}}),
        labels=("NEGATIVE", "POSITIVE"),
        ranked=1,
    ),
    RuntimeCase(
        "logits",
        _json({"inputs": [SEED], "parameters": {"function_to_apply": "none"}}),
        labels=("POSITIVE",),
        logits=True,
    ),
    RuntimeCase(
        "truncated", _json({"inputs": [LONG]}), labels=("POSITIVE",), usage=r"tokens=512;truncated=1;model=\S+$"
    ),
    RuntimeCase(  # as the pipeline slices: more than the model has is every label
        "top-k-over-labels", _json({"inputs": [SEED], "parameters": {"top_k": 3}}), labels=("POSITIVE",), ranked=2
    ),
    RuntimeCase(
        "too-long-untruncated",
        _json({"inputs": ["fine", LONG], "parameters": {"truncation": False}}),
        status=400,
        message="SP_BAD_INPUT: SP_TOO_LONG: max_length=512 texts=1:602",
    ),
    RuntimeCase(
        "unknown-function",
        _json({"inputs": ["x"], "parameters": {"function_to_apply": "tanh"}}),
        status=400,
        message="SP_BAD_INPUT",
    ),
    RuntimeCase("csv", b"inputs\nx\n", content_type="text/csv", status=400, message="SP_BAD_INPUT: content type"),
    RuntimeCase("accept-csv", _json({"inputs": ["x"]}), accept="text/csv", status=400, message="SP_BAD_INPUT: accept"),
]


def runtime_client(url: str) -> Any:
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def container_message(error: ClientError) -> tuple[int, str]:
    """The container's status and message from a ModelError (its body is MMS's JSON envelope)."""
    response: dict[str, Any] = dict(error.response)
    assert response["Error"]["Code"] == "ModelError"
    envelope = json.loads(response["OriginalMessage"])
    assert set(envelope) == {"code", "type", "message"}
    return int(response["OriginalStatusCode"]), str(envelope["message"])


@pytest.mark.parametrize("case", RUNTIME_CASES, ids=[c.name for c in RUNTIME_CASES])
def test_runtime_case(runtime_url: str, case: RuntimeCase) -> None:
    client = runtime_client(runtime_url)
    call = {"EndpointName": ENDPOINT, "ContentType": case.content_type, "Accept": case.accept, "Body": case.body}
    if case.labels is not None:
        response = client.invoke_endpoint(**call)
        answer = json.loads(response["Body"].read())
        rows = answer if case.ranked else [[p] for p in answer]
        assert tuple(row[0]["label"] for row in rows) == case.labels
        assert all(len(row) == (case.ranked or 1) for row in rows)
        for row in rows:
            assert all(set(p) == {"label", "score"} and (case.logits or 0.0 <= p["score"] <= 1.0) for p in row)
            assert [p["score"] for p in row] == sorted((p["score"] for p in row), reverse=True)
        if case.labels:  # the container's usage, passed through as CustomAttributes
            assert re.match(case.usage, response.get("CustomAttributes", "")), response.get("CustomAttributes")
        return
    with pytest.raises(ClientError) as raised:
        client.invoke_endpoint(**call)
    status, message = container_message(raised.value)
    assert (status, message[: len(case.message or "")]) == (case.status, case.message), message


def test_the_info_call_names_the_model_and_the_code_that_serves(runtime_url: str) -> None:
    body = _json({"inputs": [], "parameters": {"info": True}})
    answer = runtime_client(runtime_url).invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="application/json", Body=body
    )
    report = json.loads(answer["Body"].read())
    served = hashlib.sha256((ROOT / "model" / "code" / "inference.py").read_bytes()).hexdigest()
    assert report["inference_sha256"] == served
    assert report["labels"] == ["NEGATIVE", "POSITIVE"] and report["max_length"] == 512
    assert report["model_id"] == "archive" and report["revision"].startswith("sha256:")


def test_info_and_health_over_http(api: Http) -> None:
    """GET /info names the embedded model (its card's title) and the code that serves; /health answers,
    and ?deep=true finds the endpoint InService through DescribeEndpoint."""
    info = api.get_json("/info")
    assert info["model"]["name"] == "SentimentPulse embedded sentiment model"
    served = hashlib.sha256((ROOT / "model" / "code" / "inference.py").read_bytes()).hexdigest()
    assert info["code"]["inference_sha256"] == served
    assert info["limits"] == {"max_texts": 64, "max_text_chars": 5000, "max_request_tokens": 2048, "max_length": 512}
    assert api.get_json("/health")["status"] == "ok"
    assert api.get_json("/health?deep=true")["endpoint_status"] == "InService"
    status, headers, _ = api.post_json("/predict", {"text": SEED})
    assert status == 200 and headers["x-model-version"] == info["model"]["revision"]


def test_failed_model_load_stays_healthy_and_answers_every_call_with_its_message(
    broken_runtime_url: str, broken_api: Http
) -> None:
    ping, _, _ = Http(broken_runtime_url).request("GET", "/ping")
    assert ping == 200  # multi-model-server stays healthy: SageMaker would call the endpoint InService
    client = runtime_client(broken_runtime_url)
    for _ in range(2):  # every call tries model_fn again, and fails the same way
        with pytest.raises(ClientError) as raised:
            client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="application/json", Body=_json({"inputs": ["x"]}))
        status, message = container_message(raised.value)
        assert status == 400 and message.startswith("SP_INFERENCE_VARIANT must be one of"), message
    status, _, body = broken_api.post_json("/predict", {"text": SEED})
    assert (status, body["error"]["code"]) == (502, "MODEL_ERROR")
