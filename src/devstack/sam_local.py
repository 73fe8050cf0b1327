"""make sam-local: every recorded event through the real SAM CLI in Docker, checked against the one table.

Steps: Docker running (started here when possible), the Lambda base image present (built offline by
``devstack.lambda_image`` when missing), the local model server listening where containers reach it
(``host.docker.internal``), ``sam build``, then every file in events/ through one warm
``sam local start-lambda`` container invoked with boto3's Lambda client, then ``sam local start-api``
answering the seed request and a batch over real HTTP. Prints: event, status, expected, time.
Exit code 0 only with no mismatch.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from devstack import lambda_image
from devstack.client import post_json
from devstack.expectations import BATCH, EXPECTED, SEED
from devstack.lambda_env import ROOT, function_environment, model_endpoints
from devstack.stack import DEFAULT_MODEL, free_port, stop_process, wait_ready

EVENTS = ROOT / "events"
SAM = ROOT / ".venv-tools" / "bin" / "sam"


class SamLocalError(Exception):
    """A prerequisite is missing (Docker, the image, the SAM CLI)."""


@dataclass
class Row:
    check: str
    status: int
    expected: int
    seconds: float
    problem: str | None


def ensure_docker(log: IO[Any]) -> None:
    if shutil.which("docker") is None:
        raise SamLocalError("docker is not installed (Debian: apt-get install docker.io busybox-static iptables)")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0:
        return
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        raise SamLocalError("the Docker daemon is not running and cannot be started here (start it, then retry)")
    print("starting dockerd", file=sys.stderr)
    subprocess.Popen(["dockerd"], stdout=log, stderr=log, start_new_session=True)
    deadline = time.monotonic() + 60
    while subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise SamLocalError("dockerd did not become ready in 60 s")
        time.sleep(0.5)


def sam(*args: str, log: IO[Any], env_file: Path | None = None) -> subprocess.Popen[bytes]:
    extra = ["--env-vars", str(env_file), "--skip-pull-image"] if env_file else []
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    return subprocess.Popen([str(SAM), *args, *extra], cwd=ROOT, stdout=log, stderr=log, env=env)


def invoke_events(port: int) -> list[Row]:
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
        config=Config(read_timeout=60, retries={"total_max_attempts": 1}),
    )  # fmt: skip
    rows = []
    for name, expected in sorted(EXPECTED.items()):
        payload = (EVENTS / name).read_bytes()
        started = time.perf_counter()
        answer = json.loads(client.invoke(FunctionName="PredictFunction", Payload=payload)["Payload"].read())
        elapsed = time.perf_counter() - started
        status = int(answer.get("statusCode", 0))
        headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        mismatch = expected.mismatch(status, answer.get("body", ""), headers)
        rows.append(Row(name, status, expected.status, elapsed, mismatch))
    return rows


def call_api(port: int) -> list[Row]:
    rows = []
    for check, payload, expected in (
        ("start-api POST /predict seed", {"text": SEED}, EXPECTED["predict-seed.json"]),
        ("start-api POST /predict batch", {"texts": BATCH}, EXPECTED["predict-batch.json"]),
    ):
        started = time.perf_counter()
        status, body = post_json(f"http://127.0.0.1:{port}/predict", payload, timeout=60)
        elapsed = time.perf_counter() - started
        rows.append(Row(check, status, expected.status, elapsed, expected.mismatch(status, json.dumps(body))))
    return rows


def run(model: str, log: IO[Any]) -> list[Row]:
    ensure_docker(log)
    if not SAM.exists():
        raise SamLocalError(f"{SAM} not found: run `make install`")
    if not lambda_image.image_exists():
        lambda_image.build(lambda_image.IMAGE, None)
    model_port, lambda_port, api_port = free_port(), free_port(), free_port()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        env_file = Path(tmp) / "env.json"
        url = f"http://host.docker.internal:{model_port}"
        variables = function_environment(model_endpoints(url))
        env_file.write_text(json.dumps({"PredictFunction": variables}))
        # Containers reach the host through the Docker bridge, so the server listens beyond loopback.
        listen = ["--host", "0.0.0.0", "--port", str(model_port)]  # noqa: S104
        try:
            server = subprocess.Popen(
                [sys.executable, "-m", "devstack.server", "--model", model, *listen], cwd=ROOT, stdout=log, stderr=log
            )
            processes.append(server)
            print("sam build", file=sys.stderr)
            if sam("build", log=log).wait() != 0:
                raise SamLocalError("sam build failed (see the log)")
            wait_ready(f"http://127.0.0.1:{model_port}/ping", server, "the model server", 600)
            print("sam local start-lambda: every file in events/", file=sys.stderr)
            processes.append(sam("local", "start-lambda", "--port", str(lambda_port), log=log, env_file=env_file))
            _wait_port(lambda_port, processes[-1], "sam local start-lambda")
            rows = invoke_events(lambda_port)
            print("sam local start-api: seed and batch over HTTP", file=sys.stderr)
            processes.append(sam("local", "start-api", "--port", str(api_port), log=log, env_file=env_file))
            _wait_port(api_port, processes[-1], "sam local start-api")
            return rows + call_api(api_port)
        finally:
            for process in reversed(processes):
                stop_process(process)


def _wait_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 180) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SamLocalError(f"{what} exited with code {process.returncode} (see the log)")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise SamLocalError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def render(rows: list[Row]) -> str:
    lines = [f"{'event / check':<40} {'status':>6} {'expected':>8} {'time s':>7}  result", "-" * 78]
    for row in rows:
        verdict = "ok" if row.problem is None else f"MISMATCH: {row.problem}"
        lines.append(f"{row.check:<40} {row.status:>6} {row.expected:>8} {row.seconds:>7.2f}  {verdict}")
    bad = sum(r.problem is not None for r in rows)
    lines.append(f"\n{len(rows)} checks through SAM CLI in Docker, {bad} mismatches")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.sam_local", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model directory, model.tar.gz, or Hub id")
    parser.add_argument("--log", type=Path, default=ROOT / "build" / "sam-local.log", help="SAM CLI and server output")
    args = parser.parse_args(argv)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("wb") as log:
        try:
            rows = run(args.model, log)
        except (SamLocalError, lambda_image.ImageError, RuntimeError) as exc:
            print(f"error: {exc} (log: {args.log})", file=sys.stderr)
            return 2
    print(render(rows))
    return 0 if all(r.problem is None for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
