"""The code-archive custom resource against moto's S3 server, answering a local stand-in for
CloudFormation's pre-signed response URL."""

from __future__ import annotations

import io
import json
import tarfile
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from devstack.stack import free_port
from model.code import files
from model.digest import sha256_bytes
from model.packaging import custom_resource
from model.packaging.archive import build_archive, build_code_archive
from model.packaging.tarball import code_archive
from tests.aws_iam import enforce_iam
from tests.infra.render import render
from tests.support import EVENTS_DIR, count_writes, moto_bucket

pytestmark = pytest.mark.devstack

BUCKET = "sentimentpulse-code-archives"
RESPONSE_FIELDS = {
    "Status",
    "Reason",
    "PhysicalResourceId",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "NoEcho",
    "Data",
}


class CloudFormation(ThreadingHTTPServer):
    """Records every PUT to the response URL: (headers, JSON body)."""

    def __init__(self) -> None:
        self.answers: list[tuple[dict[str, str], dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.answers.append((dict(self.headers.items()), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(("127.0.0.1", free_port()), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/cloudformation-response?X-Amz-Signature=abc"


@pytest.fixture
def cloudformation() -> Iterator[CloudFormation]:
    server = CloudFormation()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def template_grants() -> set[str]:
    """The S3 actions template.yaml gives the code-archive function (hub-direct mode, the default)."""
    from cfnlint.decode import decode

    from tests.support import ROOT

    parsed, _ = decode(str(ROOT / "template.yaml"))
    role = render(dict(parsed or {}), {}).props("CodeArchiveFunctionRole")
    return {
        action
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
        if action.startswith("s3:")
    }


@pytest.fixture
def s3(moto_url: str) -> Any:
    return moto_bucket(moto_url, BUCKET, versioned=True)


def event(cloudformation: CloudFormation, request_type: str, **changes: Any) -> dict[str, Any]:
    recorded: dict[str, Any] = json.loads((EVENTS_DIR / "code-archive-create.json").read_text(encoding="utf-8"))
    bucket = changes.pop("bucket", BUCKET)
    recorded.update({"RequestType": request_type, "ResponseURL": cloudformation.url, **changes})
    recorded["ResourceProperties"]["Bucket"] = bucket
    return recorded


def answer(cloudformation: CloudFormation) -> dict[str, Any]:
    assert len(cloudformation.answers) == 1
    headers, body = cloudformation.answers.pop()
    assert headers.get("Content-Type") == ""  # the URL is signed without a content type
    assert set(body) == RESPONSE_FIELDS
    return body


def test_create_writes_the_archive_make_package_model_writes(
    s3: Any, cloudformation: CloudFormation, tiny_model: Path, tmp_path: Path
) -> None:
    request = event(cloudformation, "Create")
    custom_resource.handler(request, None, client=s3)
    body = answer(cloudformation)
    expected_sha = build_code_archive(tmp_path / "code.tar.gz")  # the code part of make package-model
    uri = f"s3://{BUCKET}/code/{expected_sha}/model.tar.gz"
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == uri
    assert body["Data"] == {"Uri": uri, "Sha256": expected_sha}
    for field in ("StackId", "RequestId", "LogicalResourceId"):
        assert body[field] == request[field]
    stored = s3.get_object(Bucket=BUCKET, Key=f"code/{expected_sha}/model.tar.gz")["Body"].read()
    assert sha256_bytes(stored) == expected_sha
    assert stored == (tmp_path / "code.tar.gz").read_bytes()
    # ... and its files are byte for byte the code/ part of the full model archive.
    build_archive(tiny_model, tmp_path / "model.tar.gz")
    with tarfile.open(tmp_path / "model.tar.gz") as full, tarfile.open(fileobj=io.BytesIO(stored)) as code:
        names = [m.name for m in code.getmembers() if m.isfile()]
        assert names == sorted(f"code/{module}" for module in files.MODULES)
        for name in names:
            assert code.extractfile(name).read() == full.extractfile(name).read()  # type: ignore[union-attr]


def test_update_with_the_same_code_is_a_no_op(s3: Any, cloudformation: CloudFormation) -> None:
    custom_resource.handler(event(cloudformation, "Create"), None, client=s3)
    first = answer(cloudformation)
    writes = count_writes(s3)
    update = event(cloudformation, "Update", PhysicalResourceId=first["PhysicalResourceId"])
    custom_resource.handler(update, None, client=s3)
    second = answer(cloudformation)
    assert second["Status"] == "SUCCESS"
    assert second["PhysicalResourceId"] == first["PhysicalResourceId"]  # same id: no replacement
    assert writes == ["PutObject"]  # one conditional PUT, which S3 refused with 412: nothing written again
    key = first["Data"]["Uri"].removeprefix(f"s3://{BUCKET}/")
    assert len(s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]) == 1


def test_delete_always_succeeds_and_keeps_the_archive(s3: Any, cloudformation: CloudFormation) -> None:
    custom_resource.handler(event(cloudformation, "Create"), None, client=s3)
    created = answer(cloudformation)
    writes = count_writes(s3)
    custom_resource.handler(event(cloudformation, "Delete", PhysicalResourceId=created["PhysicalResourceId"]), None)
    assert answer(cloudformation)["Status"] == "SUCCESS"
    # A rollback after a failed Create sends Delete for the placeholder id: that succeeds too.
    custom_resource.handler(event(cloudformation, "Delete", PhysicalResourceId="code-archive-failed"), None)
    assert answer(cloudformation)["Status"] == "SUCCESS"
    assert writes == []
    key = created["Data"]["Uri"].removeprefix(f"s3://{BUCKET}/")
    assert s3.head_object(Bucket=BUCKET, Key=key)["Metadata"]["sha256"] == created["Data"]["Sha256"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"bucket": "no-such-bucket-here"}, "S3 refused s3://no-such-bucket-here/code/"),
        ({"bucket": "Not_A_Bucket"}, "property Bucket must be an S3 bucket name"),
        ({"RequestType": "Replace"}, "unknown RequestType 'Replace'"),
    ],
    ids=["missing-bucket", "bad-bucket-name", "unknown-request"],
)
def test_failures_answer_failed_with_the_cause(
    s3: Any, cloudformation: CloudFormation, changes: dict[str, Any], reason: str
) -> None:
    request = event(cloudformation, "Create", **changes)
    custom_resource.handler(request, None, client=s3)
    body = answer(cloudformation)
    assert body["Status"] == "FAILED"
    assert reason in body["Reason"]
    assert body["PhysicalResourceId"]  # never empty, so the rollback's Delete has an id
    assert "Traceback" not in body["Reason"]


def test_an_unexpected_error_still_answers(cloudformation: CloudFormation) -> None:
    class Broken:
        def put_object(self, **kwargs: Any) -> None:
            raise RuntimeError("boom")

    custom_resource.handler(event(cloudformation, "Create"), None, client=Broken())
    body = answer(cloudformation)
    assert body["Status"] == "FAILED"
    assert body["Reason"] == "unexpected RuntimeError (see the function's log)"


def test_s3_1_first_create_succeeds_with_only_the_templates_permissions(
    moto_url: str, cloudformation: CloudFormation, template_grants: set[str]
) -> None:
    """Against an S3 stand-in that enforces the role the template gives the function, and answers a
    HEAD or GET of a missing key with 403 without s3:ListBucket, as S3 does (docs/aws-rules.md, S3-1)."""
    bucket = f"fresh-{uuid.uuid4().hex[:12]}"  # a first create: the key does not exist yet
    # The rule a HEAD-first handler failed on: even with s3:GetObject, a missing key is 403, not 404.
    reader = enforce_iam(moto_bucket(moto_url, bucket, versioned=True), {"s3:PutObject", "s3:GetObject"})
    with pytest.raises(ClientError) as refused:
        reader.head_object(Bucket=bucket, Key="code/missing/model.tar.gz")
    assert refused.value.response["Error"]["Code"] == "403"
    assert template_grants == {"s3:PutObject"}
    strict = enforce_iam(moto_bucket(moto_url, bucket, versioned=True), template_grants)
    custom_resource.handler(event(cloudformation, "Create", bucket=bucket), None, client=strict)
    created = answer(cloudformation)
    assert created["Status"] == "SUCCESS", created["Reason"]
    custom_resource.handler(event(cloudformation, "Update", bucket=bucket), None, client=strict)
    assert answer(cloudformation)["Status"] == "SUCCESS"  # the key exists now: 412, a no-op


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_cfn_2_s3_waits_fit_the_time_left(cloudformation: CloudFormation, monkeypatch: pytest.MonkeyPatch) -> None:
    budgets: list[float] = []

    def client(budget: float) -> Any:
        budgets.append(budget)
        raise RuntimeError("no S3 in this test")

    monkeypatch.setattr(custom_resource, "s3_client", client)
    custom_resource.handler(event(cloudformation, "Create"), Context(40_000))
    assert answer(cloudformation)["Status"] == "FAILED"
    assert budgets == [40.0 - custom_resource.ANSWER_RESERVE_S]
    # Too little time left: FAILED at once, with the reason, instead of a call that cannot finish.
    custom_resource.handler(event(cloudformation, "Create"), Context(12_500))
    body = answer(cloudformation)
    assert body["Status"] == "FAILED" and "too little to write to S3" in body["Reason"]


def test_s3_client_waits_sum_to_the_budget() -> None:
    client = custom_resource.s3_client(30.0)
    config = client.meta.config
    assert config.connect_timeout + config.read_timeout == pytest.approx(30.0)
    assert config.retries["total_max_attempts"] == 1  # no hidden second wait


def test_archive_is_deterministic() -> None:
    assert code_archive() == code_archive()
