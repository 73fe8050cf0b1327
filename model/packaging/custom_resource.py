"""CloudFormation custom resource: the stack writes its own code-only ``model.tar.gz`` to S3.

In hub-direct mode the endpoint downloads its weights from ``HF_MODEL_ID`` but must still run
``model/code/inference.py``: the Hugging Face DLC imports ``inference`` from ``/opt/ml/model/code``,
which comes from the model archive. This function's package carries ``model/code/`` and
``tarball.py`` (the writer ``make package-model`` uses), so the archive is byte-identical to
``build/model/code.tar.gz`` for the same code.

Properties: ``Bucket`` (required), ``Prefix`` (default ``code``), ``CodeVersion`` (changes when the
function's code changes; it only makes CloudFormation send an Update).

- Create / Update: key ``<Prefix>/<sha256>/model.tar.gz``, written with a conditional PUT
  (``If-None-Match: *``): S3 answers 412 when the key exists, and a content-addressed key that exists
  already holds these bytes, so an update with the same code is a no-op. No HEAD first: without
  ``s3:ListBucket`` S3 answers a HEAD of a missing key with 403, not 404 (docs/aws-rules.md, S3-1), and
  the conditional PUT needs nothing but ``s3:PutObject`` (S3-2).
  ``PhysicalResourceId`` and ``Data.Uri`` are the ``s3://`` URI, ``Data.Sha256`` the digest.
- Delete: nothing to undo (objects are content-addressed and tiny; the bucket keeps them), so a
  Delete, including one sent during a rollback, always succeeds.
- Any failure: ``FAILED`` with a reason naming the cause. Every S3 wait is cut to fit the time the
  invocation has left (``context.get_remaining_time_in_millis()``) minus what answering needs, so the
  answer is sent before the function times out; the template's ``ServiceTimeout`` bounds CloudFormation's
  wait if it is never sent at all (CFN-2).

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

from model.digest import sha256_bytes
from model.packaging.tarball import code_archive

log = logging.getLogger()
log.setLevel(logging.INFO)
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
CONNECT_TIMEOUT_S = 5.0
RESPONSE_TIMEOUT_S = 10.0  # the PUT of the answer to CloudFormation's response URL
ANSWER_RESERVE_S = RESPONSE_TIMEOUT_S + 2.0  # kept for answering after the last S3 wait
MIN_S3_BUDGET_S = 2.0  # less than this left for S3: fail at once rather than start a call that cannot end
DEFAULT_REMAINING_S = 60.0  # without a Lambda context (tests, scripts): the template's Timeout
ALREADY_THERE = {"PreconditionFailed", "412"}  # If-None-Match: * on a key that exists


def s3_client(budget_s: float) -> Any:
    """One attempt per call, every wait inside ``budget_s`` (botocore's retries would hide the time)."""
    connect = min(CONNECT_TIMEOUT_S, budget_s / 3)
    return boto3.client(
        "s3",
        config=Config(
            connect_timeout=connect,
            read_timeout=budget_s - connect,
            retries={"mode": "standard", "total_max_attempts": 1},
        ),
    )


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
    """Put the code archive at its content address unless it is there already; returns Uri and Sha256."""
    data = code_archive()
    sha256 = sha256_bytes(data)
    key = f"{prefix}/{sha256}/model.tar.gz"
    uri = f"s3://{bucket}/{key}"
    try:
        client.put_object(
            Bucket=bucket,
            Key=key,
            Body=data,
            ContentType="application/gzip",
            Metadata={"sha256": sha256},
            IfNoneMatch="*",
        )
        log.info("code archive written: %s (%d bytes)", uri, len(data))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code"))
        if code not in ALREADY_THERE:  # 409 ConditionalRequestConflict: a concurrent write; the deploy may retry
            raise ResourceError(f"S3 refused {uri}: {code} {error.get('Message', '')}".strip()) from None
        log.info("code archive already in place: %s", uri)
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
    with urllib.request.urlopen(request, timeout=RESPONSE_TIMEOUT_S) as answer:  # noqa: S310
        log.info("answered CloudFormation: %s (HTTP %s)", status, answer.status)


def s3_budget(context: Any) -> float:
    """Seconds S3 may take: what the invocation has left, minus what answering needs."""
    remaining = context.get_remaining_time_in_millis() / 1000 if context is not None else DEFAULT_REMAINING_S
    return remaining - ANSWER_RESERVE_S


def handler(event: dict[str, Any], context: Any, client: Any = None) -> None:
    request_type = event.get("RequestType")
    physical_id = event.get("PhysicalResourceId") or f"code-archive-{event.get('RequestId', 'unknown')}"
    status, reason, data = "SUCCESS", "", {}
    try:
        if request_type in ("Create", "Update"):
            bucket, prefix = _properties(event)
            budget = s3_budget(context)
            if budget < MIN_S3_BUDGET_S:
                raise ResourceError(f"only {budget + ANSWER_RESERVE_S:.1f} s left: too little to write to S3")
            data = publish(bucket, prefix, client or s3_client(budget))
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
