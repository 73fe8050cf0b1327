"""The seed request and the recorded events, over real HTTP through the whole local stack."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.expectations import SEED
from devstack.stack import LocalStack
from model.code.inference import OVER_BUDGET
from tests.support import Http, start_stack

pytestmark = pytest.mark.devstack


def test_seed_request(api: Http) -> None:
    status, headers, body = api.post_json("/predict", {"text": SEED})
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert len(body) == 1
    assert body[0]["label"] == "POSITIVE"
    assert 0.0 <= body[0]["score"] <= 1.0


def test_batch_in_order(api: Http) -> None:
    texts = [SEED, "This was a terrible waste of money.", SEED]
    status, _, body = api.post_json("/predict", {"texts": texts})
    assert status == 200
    assert len(body) == 3
    assert body[0] == body[2]  # same text, same answer, wherever it sits in the batch


def test_boto3_reaches_the_model_server_through_the_standard_setting(
    model_server: Http, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", model_server.base)
    client = boto3.client(
        "sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    response = client.invoke_endpoint(
        EndpointName="sentimentpulse-local", ContentType="application/json", Body=json.dumps({"inputs": [SEED]})
    )
    assert json.loads(response["Body"].read())[0]["label"] == "POSITIVE"
    with pytest.raises(client.exceptions.ValidationError):
        client.invoke_endpoint(EndpointName="no-such-endpoint", ContentType="application/json", Body=b"{}")
    with pytest.raises(client.exceptions.ModelError) as info:
        client.invoke_endpoint(EndpointName="sentimentpulse-local", ContentType="application/json", Body=b"nope")
    error: dict[str, Any] = dict(info.value.response)
    assert error["OriginalStatusCode"] == 400
    # The container's error body, as multi-model-server wraps it (devstack/sagemaker_wire.py).
    assert json.loads(error["OriginalMessage"])["message"].startswith("SP_BAD_INPUT")


def test_ping_and_container_contract(model_server: Http) -> None:
    assert model_server.get_json("/ping") == {"status": "Healthy"}  # what multi-model-server answers
    status, _, body = model_server.post_json("/invocations", {"inputs": "good"})
    assert status == 200
    assert len(body) == 1


def test_the_model_server_enforces_the_token_budget(model_server: Http) -> None:
    """Over ``max_total_tokens`` the runtime path answers the model's ModelError, before the model."""
    texts = [SEED, f"{SEED} again"]
    path = "/endpoints/sentimentpulse-local/invocations"
    before = model_server.get_json("/_local/stats")["model_calls"]
    status, _, body = model_server.post_json(path, {"inputs": texts, "parameters": {"max_total_tokens": 4}})
    assert status == 424
    assert OVER_BUDGET in body["OriginalMessage"]
    assert model_server.get_json("/_local/stats")["model_calls"] == before
    status, _, body = model_server.post_json(path, {"inputs": texts, "parameters": {"max_total_tokens": 5120}})
    assert status == 200
    assert len(body) == len(texts)


def test_concurrent_requests_are_batched(model_server: Http) -> None:
    before = model_server.get_json("/_local/stats")
    texts = [f"{SEED} number {i}" for i in range(32)]
    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(lambda t: model_server.post_json("/invocations", {"inputs": [t]}), texts))
    assert all(status == 200 and len(body) == 1 for status, _, body in results)
    after = model_server.get_json("/_local/stats")
    requests = after["requests"] - before["requests"]
    calls = after["model_calls"] - before["model_calls"]
    assert requests == 32
    assert calls < requests, after


def test_stopping_the_stack_leaves_no_process_behind(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    assert stack.api is not None and stack.model_server is not None
    children = Path(f"/proc/{stack.api.pid}/task/{stack.api.pid}/children").read_text().split()
    assert len(children) >= 2  # the Lambda environments (and multiprocessing's tracker)
    stack.stop()
    time.sleep(1)
    alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert alive == []
    assert stack.api.poll() is not None and stack.model_server.poll() is not None


def test_every_invocation_gets_its_own_lambda_context(stack: LocalStack, api: Http) -> None:
    """As on Lambda, each event's context carries its own request id (in every log line of it), even
    when one environment handles many events in turn."""
    assert stack.log is not None
    log = Path(stack.log.name)
    start = log.stat().st_size
    rounds = 4  # sequential: the stack's two environments take turns, each handles two
    for _ in range(rounds):
        assert api.post_json("/predict", {"text": SEED})[0] == 200
    with log.open("rb") as lines:
        lines.seek(start)
        entries = [json.loads(line) for line in lines if line.startswith(b"{")]
    predictions = [e for e in entries if e.get("message") == "prediction"]
    assert len(predictions) == rounds
    assert len({e["function_request_id"] for e in predictions}) == rounds
