"""Checks on the HTTP envelope (content type, size, encoding) that come before the schema, and the
strict JSON parser the resolver uses for the body."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from .contract import MAX_BODY_BYTES
from .exceptions import InvalidEncodingError, PayloadTooLargeError, UnsupportedMediaTypeError


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise json.JSONDecodeError("duplicate key in object", "", 0)
    return dict(pairs)


def strict_json_loads(data: str) -> Any:
    """json.loads that refuses duplicate keys (which one would win is a guess, so it is a 400).

    Every way parsing can fail is a ``JSONDecodeError`` (the client's 400): the parser itself raises
    RecursionError on deep nesting and ValueError on integers past Python's digit limit.
    """
    try:
        return json.loads(data, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError, TypeError, MemoryError) as exc:
        raise json.JSONDecodeError(f"unparseable JSON ({type(exc).__name__})", "", 0) from None


def check_envelope(event: APIGatewayProxyEventV2) -> None:
    """Raise the 415 / 413 / 400 that the request's envelope deserves, whatever its body says."""
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json":
        raise UnsupportedMediaTypeError(f"content-type {content_type[:64]!r}")
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidEncodingError("body marked base64 is not valid base64") from None
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"body {len(raw)} bytes")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEncodingError("body is not valid UTF-8") from None
