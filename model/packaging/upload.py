"""Content-addressed upload: s3://BUCKET/PREFIX/<sha256>/model.tar.gz, skipped when already there."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from tqdm import tqdm


class UploadError(Exception):
    """The upload could not be done; the message says why in words, not a trace."""


def s3_key(prefix: str, sha256: str) -> str:
    return "/".join(p for p in (prefix.strip("/"), sha256, "model.tar.gz") if p)


def _existing_sha(client: Any, bucket: str, key: str) -> str | None:
    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        # Without s3:ListBucket, S3 answers a missing key with 403, not 404 (docs/aws-rules.md, S3-1):
        # unknown either way, so upload; a caller who may not write fails on the PUT with its own error.
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound", "403", "AccessDenied"}:
            return None
        raise
    sha: str | None = head.get("Metadata", {}).get("sha256")
    return sha


def upload(archive: Path, sha256: str, bucket: str, prefix: str, region: str | None = None, client: Any = None) -> str:
    """Upload ``archive`` and return its S3 URI. Multipart with a progress bar; atomic per object."""
    client = client or boto3.client("s3", region_name=region)
    key = s3_key(prefix, sha256)
    uri = f"s3://{bucket}/{key}"
    try:
        if _existing_sha(client, bucket, key) == sha256:
            print(f"already uploaded (same sha256): {uri}", file=sys.stderr)
            return uri
        size = archive.stat().st_size
        with tqdm(total=size, unit="B", unit_scale=True, desc="upload", file=sys.stderr) as bar:
            client.upload_file(
                str(archive),
                bucket,
                key,
                ExtraArgs={"Metadata": {"sha256": sha256}, "ContentType": "application/gzip"},
                Config=TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024),
                Callback=bar.update,
            )
    except NoCredentialsError:
        raise UploadError("no AWS credentials found (set AWS_PROFILE or run `aws configure`)") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise UploadError(
            f"S3 refused the upload to {uri}: {error.get('Code')} {error.get('Message', '')}".strip()
        ) from None
    except (BotoCoreError, boto3.exceptions.S3UploadFailedError) as exc:
        raise UploadError(f"upload to {uri} failed: {exc}") from None
    return uri
