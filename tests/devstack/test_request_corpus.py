"""The bad-input corpus over real HTTP through the local stack: 4xx, never 5xx, and the stack keeps serving."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devstack.expectations import SEED
from devstack.stack import LocalStack
from tests.support import Http, request_corpus

CANARY, CASES = request_corpus()
HTTP_CASES = [c for c in CASES if not c.get("event_only")]


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c["name"] for c in HTTP_CASES])
def test_case_over_http(api: Http, case: dict[str, Any]) -> None:
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


def test_stack_still_serves_and_logged_no_request_text(api: Http, stack: LocalStack) -> None:
    status, _, body = api.post_json("/predict", {"text": SEED})
    assert status == 200
    assert body[0]["label"] == "POSITIVE"
    assert stack.alive()
    assert stack.log is not None
    stack.log.flush()
    logs = Path(stack.log.name).read_text(encoding="utf-8", errors="replace")
    assert '"correlation_id"' in logs  # the function's logs are in there
    assert CANARY not in logs
