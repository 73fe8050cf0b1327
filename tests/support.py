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


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float = 60.0, process: Any = None) -> None:
    """Poll `url` until it answers 200; fail early if `process` died."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback test URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s")
