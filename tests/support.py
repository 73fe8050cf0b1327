"""Helpers shared by the test tiers. Paths are anchored on this file, never on the cwd."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody

from devstack.lambda_env import TIMEOUT_VARIABLE, LambdaContext, function_environment
from devstack.stack import LocalStack, free_port
from handler.contract import MAX_REQUEST_TOKENS

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "events"
SHARED_DATA = ROOT.parent / "shared" / "data"
EMBEDDED_MODEL = ROOT / "model" / "embedded"


def event_names() -> list[str]:
    """The API Gateway events for PredictFunction (env.json and the custom resource's events aside)."""
    return sorted(p.name for p in EVENTS_DIR.glob("*.json") if p.name != "env.json" and not p.name.startswith("code-"))


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    return event


def lambda_context() -> LambdaContext:
    """A context whose deadline is the function's timeout from events/env.json."""
    return LambdaContext(float(function_environment()[TIMEOUT_VARIABLE]))


def model_answer(predictions: Any, attributes: str | None = None) -> dict[str, Any]:
    """An InvokeEndpoint response; ``attributes``: the CustomAttributes the model reports."""
    data = predictions if isinstance(predictions, bytes) else json.dumps(predictions).encode()
    answer = {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"}
    return answer if attributes is None else {**answer, "CustomAttributes": attributes}


def expected_call(texts: list[str], endpoint: str = "sentimentpulse-local", **options: Any) -> dict[str, Any]:
    """The InvokeEndpoint call the handler must make for ``texts`` and the request's options (written
    out here, in the pipeline's names, not taken from the code under test)."""
    parameters: dict[str, Any] = {
        "truncation": options.get("truncate", True),
        "max_total_tokens": MAX_REQUEST_TOKENS,
        "function_to_apply": options.get("function_to_apply", "softmax"),
    }
    if "top_k" in options:
        parameters["top_k"] = None if options["top_k"] == "all" else options["top_k"]
    return {
        "EndpointName": endpoint,
        "ContentType": "application/json",
        "Accept": "application/json",
        "Body": json.dumps({"inputs": texts, "parameters": parameters}, ensure_ascii=False).encode(),
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
    from devstack.api import build_event

    headers = [("content-type", case["content_type"])] if case["content_type"] else []
    event = build_event(case["method"], case["path"], headers, case["raw"] or b"", "203.0.113.10")
    if "event_body_base64" in case:
        event["body"], event["isBase64Encoded"] = case["event_body_base64"], True
    return event


class Http:
    """A tiny HTTP client for tests: returns (status, headers, body bytes), never raises on 4xx/5xx."""

    def __init__(self, base: str) -> None:
        self.base = base

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> tuple[int, dict[str, str], bytes]:
        data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
                return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
        except urllib.error.HTTPError as error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()

    def post_json(self, path: str, payload: Any, timeout: float = 60) -> tuple[int, dict[str, str], Any]:
        status, headers, raw = self.request(
            "POST", path, json.dumps(payload), {"Content-Type": "application/json"}, timeout
        )
        return status, headers, json.loads(raw)

    def get_json(self, path: str) -> Any:
        status, _, raw = self.request("GET", path)
        assert status == 200
        return json.loads(raw)


def start_stack(tmp_path: Path, model: Path = EMBEDDED_MODEL, **kwargs: Any) -> LocalStack:
    log = (tmp_path / "stack.log").open("wb")
    stack = LocalStack(model=str(model), api_port=free_port(), model_port=free_port(), concurrency=2, log=log, **kwargs)
    return stack.start()


def run_in_group(cmd: list[str], timeout: float, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` in its own process group and wait; whatever ends the wait (its timeout, the test's
    timeout, a failure), nothing it started is left running."""
    process = subprocess.Popen(
        cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the children it started (servers), if any remain
        process.wait()
    return subprocess.CompletedProcess(cmd, process.returncode, out, err)


def tool(name: str) -> str:
    """A deploy tool from .venv-tools, else from PATH; a missing tool fails loudly (make install)."""
    local = ROOT / ".venv-tools" / "bin" / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make install` (it lives in .venv-tools)")
    return found


def count_writes(client: Any) -> list[str]:
    writes: list[str] = []
    for op in ("PutObject", "CreateMultipartUpload"):
        client.meta.events.register(f"before-call.s3.{op}", lambda model, **kw: writes.append(model.name))
    return writes


def moto_bucket(moto_url: str, bucket: str, versioned: bool = False) -> Any:
    """An S3 client on moto's server, with ``bucket`` created (and versioned when asked)."""
    import contextlib

    import boto3

    client = boto3.client(
        "s3", endpoint_url=moto_url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    if versioned:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return client


def make_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for running `make` from a test: without the variables an outer `make test` sets
    (MAKELEVEL makes a nested make print "make[1]: ..." lines; MAKEFLAGS would pass its options on)."""
    return {
        k: v for k, v in (os.environ if env is None else env).items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")
    }
