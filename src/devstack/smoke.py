"""make smoke: every recorded event against a running API, checked against the one expectations table.

``--base-url`` (``make smoke BASE_URL=http://127.0.0.1:3000``): each file in events/ becomes the HTTP
request API Gateway turned into it (method, path without the stage, query, headers, body) and goes to
that URL. ``--stack`` (``make smoke STACK=sentimentpulse``): the same against the stack's ``ApiBaseUrl``
output, signed with SigV4 when the stack's ``AuthMode`` is IAM or sent with ``SMOKE_TOKEN`` as the bearer
token when it is JWT, and then each event through ``sam remote invoke`` of the function itself. The
checking is the same code in both cases, and the local tiers use the same table. Exit code 0 only with
no mismatch; without AWS credentials a stack smoke stops at once with one line saying what is missing.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from devstack.expectations import EXPECTED
from devstack.lambda_env import ROOT
from devstack.sam_local import SAM, Row, render

EVENTS = ROOT / "events"
TOKEN_VARIABLE = "SMOKE_TOKEN"  # noqa: S105 - the name of the variable, not a token
# API Gateway's own headers, which a client does not send (host is the target's, length is recomputed).
NOT_SENT = {"host", "content-length", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"}


class SmokeError(Exception):
    """What the smoke test needs and does not have (credentials, a stack output, a token)."""


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # under the API's base URL, query string included
    headers: dict[str, str]
    body: bytes


def request_of(event: dict[str, Any]) -> HttpRequest:
    """The client's request behind an API Gateway HTTP API (payload 2.0) event."""
    context = event["requestContext"]
    path = context["http"]["path"]
    stage = context.get("stage", "")
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]  # the base URL carries the stage
    query = event.get("rawQueryString") or ""
    body = (event.get("body") or "").encode("utf-8")
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body)
    headers = {k.lower(): v for k, v in event.get("headers", {}).items() if k.lower() not in NOT_SENT}
    return HttpRequest(context["http"]["method"], path + (f"?{query}" if query else ""), headers, body)


def send(base_url: str, request: HttpRequest, timeout: float = 60) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, lower-case headers); an HTTP error status is an answer, not an exception."""
    http = urllib.request.Request(  # noqa: S310 - the URL is the user's API
        base_url.rstrip("/") + request.path, data=request.body or None, headers=request.headers, method=request.method
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as answer:  # noqa: S310
            return answer.status, answer.read(), {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, error.read(), {k.lower(): v for k, v in error.headers.items()}


def check_http(base_url: str, authorize: Any = None) -> list[Row]:
    """Every event of the table over HTTP; ``authorize(request) -> request`` adds the stack's auth."""
    rows = []
    for name, expected in sorted(EXPECTED.items()):
        request = request_of(json.loads((EVENTS / name).read_text(encoding="utf-8")))
        if authorize is not None:
            request = authorize(request)
        started = time.perf_counter()
        try:
            status, body, headers = send(base_url, request)
            problem = expected.mismatch(status, body, headers)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            status, problem = 0, f"no answer: {exc}"
        rows.append(Row(f"HTTP {name}", status, expected.status, time.perf_counter() - started, problem))
    return rows


def check_function(stack: str, region: str) -> list[Row]:
    """Every event through ``sam remote invoke`` of the deployed function (its live alias)."""
    rows = []
    for name, expected in sorted(EXPECTED.items()):
        started = time.perf_counter()
        result = subprocess.run(
            [str(SAM), "remote", "invoke", "PredictFunction", "--stack-name", stack, "--region", region,
             "--event-file", str(EVENTS / name), "--output", "json"],
            capture_output=True, text=True, check=False, cwd=ROOT, timeout=120,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["sam remote invoke failed"])[-1]
            rows.append(Row(f"sam remote invoke {name}", 0, expected.status, elapsed, last))
            continue
        answer = json.loads(json.loads(result.stdout)["Payload"])
        status = int(answer.get("statusCode", 0))
        headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
        problem = expected.mismatch(status, answer.get("body", ""), headers)
        rows.append(Row(f"sam remote invoke {name}", status, expected.status, elapsed, problem))
    return rows


def require_credentials(region: str) -> Any:
    """A boto3 session with credentials, or SmokeError in one line."""
    import boto3

    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        raise SmokeError(
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
            "or smoke-test a local stack with BASE_URL=http://127.0.0.1:3000"
        )
    return session


def stack_target(session: Any, stack: str) -> tuple[str, str]:
    """(ApiBaseUrl, AuthMode) of a deployed stack."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        described = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    except (BotoCoreError, ClientError) as exc:
        raise SmokeError(f"cannot read stack {stack}: {exc}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    parameters = {p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])}
    if "ApiBaseUrl" not in outputs:
        raise SmokeError(f"stack {stack} has no ApiBaseUrl output: deploy this version of the template first")
    return outputs["ApiBaseUrl"], parameters.get("AuthMode", "NONE")


def authorizer(session: Any, auth_mode: str, base_url: str) -> Any:
    """What each request needs for ``auth_mode``: nothing, a SigV4 signature, or the bearer token."""
    if auth_mode == "IAM":
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = session.get_credentials().get_frozen_credentials()
        signer = SigV4Auth(credentials, "execute-api", session.region_name)

        def sign(request: HttpRequest) -> HttpRequest:
            aws = AWSRequest(request.method, base_url.rstrip("/") + request.path, request.headers, request.body)
            signer.add_auth(aws)
            return HttpRequest(request.method, request.path, dict(aws.headers.items()), request.body)

        return sign
    if auth_mode == "JWT":
        token = os.environ.get(TOKEN_VARIABLE, "")
        if not token:
            raise SmokeError(f"the stack's AuthMode is JWT: set {TOKEN_VARIABLE}=<an access token from its issuer>")

        def bearer(request: HttpRequest) -> HttpRequest:
            return HttpRequest(request.method, request.path, {**request.headers, "authorization": f"Bearer {token}"},
                               request.body)  # fmt: skip

        return bearer
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.smoke", description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--base-url", help="an API's base URL, e.g. http://127.0.0.1:3000 (make local)")
    target.add_argument("--stack", help="a deployed stack's name: its ApiBaseUrl, then the function itself")
    target.add_argument("--check-credentials", action="store_true", help="only check that AWS credentials exist")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    try:
        if args.check_credentials:
            require_credentials(args.region)
            return 0
        if args.base_url:
            rows = check_http(args.base_url)
        else:
            session = require_credentials(args.region)
            base_url, auth_mode = stack_target(session, args.stack)
            print(f"smoke: {args.stack} at {base_url} (AuthMode {auth_mode})", file=sys.stderr)
            rows = check_http(base_url, authorizer(session, auth_mode, base_url))
            rows += check_function(args.stack, args.region)
    except SmokeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(render(rows).replace("through SAM CLI in Docker", f"against {args.base_url or args.stack}"))
    return 0 if all(row.problem is None for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
