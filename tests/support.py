"""Helpers shared by the test tiers. Paths are anchored on this file, never on the cwd."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.response import StreamingBody

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
SHARED_DATA = ROOT.parent / "shared" / "data"
EMBEDDED_MODEL = ROOT / "model" / "embedded"


def event_names() -> list[str]:
    return sorted(p.name for p in EVENTS_DIR.glob("*.json") if p.name != "env.json")


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return event


def function_env() -> dict[str, str]:
    """The function's environment as `sam local` gets it (events/env.json)."""
    env: dict[str, str] = json.loads((EVENTS_DIR / "env.json").read_text(encoding="utf-8"))["PredictFunction"]
    return env


@dataclass
class LambdaContext:
    function_name: str = "sentimentpulse-predict"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:sentimentpulse-predict"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 25_000


def model_answer(predictions: Any) -> dict[str, Any]:
    data = predictions if isinstance(predictions, bytes) else json.dumps(predictions).encode()
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"}


def expected_call(texts: list[str], endpoint: str = "sentimentpulse-local") -> dict[str, Any]:
    return {
        "EndpointName": endpoint,
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": json.dumps({"inputs": texts, "parameters": {"truncation": True}}, ensure_ascii=False).encode(),
    }


def request_corpus() -> tuple[str, list[dict[str, Any]]]:
    """tests/data/request_corpus.json: (canary, cases) with each case's raw body bytes under "raw"."""
    import base64

    data = json.loads((ROOT / "tests" / "data" / "request_corpus.json").read_text(encoding="utf-8"))
    canary: str = data["canary"]
    for case in data["cases"]:
        if "body_bytes_b64" in case:
            case["raw"] = base64.b64decode(case["body_bytes_b64"])
        elif case.get("body_generator") == "over_1_mib":
            case["raw"] = json.dumps({"text": canary + "z" * (1024 * 1024 + 10)}).encode()
        elif "body" in case:
            case["raw"] = case["body"].encode("utf-8", "surrogatepass")
        else:
            case["raw"] = None
    return canary, data["cases"]


def corpus_event(case: dict[str, Any]) -> dict[str, Any]:
    """The payload v2 event API Gateway would send for a corpus case (same builder as the local API)."""
    from model.local.api import build_event

    headers = [("content-type", case["content_type"])] if case["content_type"] else []
    event = build_event(case["method"], case["path"], headers, case["raw"] or b"", "203.0.113.10")
    if "event_body_base64" in case:
        event["body"], event["isBase64Encoded"] = case["event_body_base64"], True
    return event
