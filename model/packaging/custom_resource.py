"""CloudFormation custom resource: the stack writes its own code-only ``model.tar.gz`` to S3.

In hub-direct mode the endpoint downloads its weights from ``HF_MODEL_ID`` but must still run
``model/code/inference.py``: the Hugging Face DLC imports ``inference`` from ``/opt/ml/model/code``,
which comes from the model archive. This function's package carries ``model/code/`` and
``tarball.py`` (the writer ``make package-model`` uses), so the archive is byte-identical to
``build/model/code.tar.gz`` for the same code.

Properties: ``Bucket`` (required), ``Prefix`` (default ``code``), ``CodeVersion`` (changes when the
function's code changes; it only makes CloudFormation send an Update).

- Create / Update: key ``<Prefix>/<sha256>/model.tar.gz``; the PUT is skipped when the object already
  holds that sha256 (same code, same key: an update with the same code is a no-op).
  ``PhysicalResourceId`` and ``Data.Uri`` are the ``s3://`` URI, ``Data.Sha256`` the digest.
- Delete: nothing to undo (objects are content-addressed and tiny; the bucket keeps them), so a
  Delete, including one sent during a rollback, always succeeds.
- Any failure: ``FAILED`` with a reason naming the cause, sent before the function could time out,
  so the stack never waits an hour for an answer.

The answer is the JSON document CloudFormation expects (Status, Reason, PhysicalResourceId, StackId,
RequestId, LogicalResourceId, NoEcho, Data), PUT to the pre-signed ``ResponseURL`` with an empty
Content-Type (the URL is signed without one). Standard library and the runtime's boto3 only.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from model.packaging.tarball import code_archive, sha256_bytes

log = logging.getLogger()
log.setLevel(logging.INFO)
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
# Bounded waits: two attempts of (5 s connect + 20 s read) stay inside the function's 60 s timeout.
S3_CONFIG = Config(connect_timeout=5, read_timeout=20, retries={"mode": "standard", "total_max_attempts": 2})


class ResourceError(Exception):
    """A failure whose message is the reason CloudFormation shows."""


def _properties(event: dict[str, Any]) -> tuple[str, str]:
    props = event.get("ResourceProperties") or {}
    bucket, prefix = str(props.get("Bucket", "")), str(props.get("Prefix", "code")).strip("/")
    if not BUCKET_NAME.match(bucket):
        raise ResourceError(f"property Bucket must be an S3 bucket name, got {bucket[:80]!r}")
    if not PREFIX.match(prefix):
        raise ResourceError(f"property Prefix must be a plain key prefix, got {prefix[:80]!r}")
    return bucket, prefix


def publish(bucket: str, prefix: str, client: Any) -> dict[str, str]:
    """Put the code archive at its content address (unless it is there already); returns Uri and Sha256."""
    data = code_archive()
    sha256 = sha256_bytes(data)
    key = f"{prefix}/{sha256}/model.tar.gz"
    uri = f"s3://{bucket}/{key}"
    try:
        try:
            existing = client.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get("sha256")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchKey", "NotFound"}:
                raise
            existing = None
        if existing == sha256:
            log.info("code archive already in place: %s", uri)
        else:
            client.put_object(
                Bucket=bucket, Key=key, Body=data, ContentType="application/gzip", Metadata={"sha256": sha256}
            )
            log.info("code archive written: %s (%d bytes)", uri, len(data))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise ResourceError(f"S3 refused {uri}: {error.get('Code')} {error.get('Message', '')}".strip()) from None
    except BotoCoreError as exc:
        raise ResourceError(f"S3 could not be reached for {uri}: {type(exc).__name__}") from None
    return {"Uri": uri, "Sha256": sha256}


def respond(event: dict[str, Any], status: str, reason: str, physical_id: str, data: dict[str, str]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:3000],
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "NoEcho": False,
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's pre-signed https URL
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=15) as answer:  # noqa: S310
        log.info("answered CloudFormation: %s (HTTP %s)", status, answer.status)


def handler(event: dict[str, Any], context: Any, client: Any = None) -> None:
    request_type = event.get("RequestType")
    physical_id = event.get("PhysicalResourceId") or f"code-archive-{event.get('RequestId', 'unknown')}"
    status, reason, data = "SUCCESS", "", {}
    try:
        if request_type in ("Create", "Update"):
            bucket, prefix = _properties(event)
            data = publish(bucket, prefix, client or boto3.client("s3", config=S3_CONFIG))
            physical_id, reason = data["Uri"], f"code archive {data['Uri']}"
        elif request_type == "Delete":
            reason = "nothing to delete: code archives are content-addressed and kept"
        else:
            raise ResourceError(f"unknown RequestType {str(request_type)[:40]!r}")
    except ResourceError as exc:
        status, reason = "FAILED", str(exc)
    except Exception as exc:  # never leave CloudFormation waiting: every failure is an answer
        log.exception("code archive failed")
        status, reason = "FAILED", f"unexpected {type(exc).__name__} (see the function's log)"
    log.info("%s %s: %s", request_type, status, reason)
    respond(event, status, reason, physical_id, data)
