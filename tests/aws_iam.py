"""An S3 client that behaves as AWS would for a caller with a given set of IAM actions.

moto answers every call its bucket allows, and a HEAD of a missing key with 404, whatever the policy.
S3 does not: a call whose action the caller lacks is 403 AccessDenied, and without ``s3:ListBucket`` a
HEAD or GET of a missing key is 403, not 404 (docs/aws-rules.md, S3-1). ``enforce_iam`` adds both rules
to a client on moto's server, so a test of our code sees the answers AWS would give it.
"""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError

# The IAM action each S3 operation needs (Service Authorization Reference, Amazon S3).
S3_ACTIONS = {
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "DeleteObject": "s3:DeleteObject",
}


def _forbidden(code: str) -> tuple[AWSResponse, dict[str, Any]]:
    parsed = {"Error": {"Code": code, "Message": "Forbidden"}, "ResponseMetadata": {"HTTPStatusCode": 403}}
    return AWSResponse("https://s3.amazonaws.com", 403, HTTPHeaders(), None), parsed


def enforce_iam(client: Any, allowed: set[str]) -> Any:
    """``client`` answering as S3 would for a caller whose policy grants exactly ``allowed``."""

    def exists(bucket: str, key: str) -> bool:
        try:
            client.meta.events.unregister("before-call.s3", check)
            client.head_object(Bucket=bucket, Key=key)
            return True
        except ClientError:
            return False
        finally:
            client.meta.events.register("before-call.s3", check)

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = dict(params)  # before-call sees the serialized request, not these

    def check(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        params = context.get("api_params", {})
        action = S3_ACTIONS.get(model.name)
        if action is None or action not in allowed:
            return _forbidden("AccessDenied")
        reads = model.name in ("HeadObject", "GetObject")
        if reads and "s3:ListBucket" not in allowed and not exists(params["Bucket"], params["Key"]):
            return _forbidden("403" if model.name == "HeadObject" else "AccessDenied")
        return None

    client.meta.events.register("before-parameter-build.s3", remember)
    client.meta.events.register("before-call.s3", check)
    return client
