"""Checks on the HTTP envelope (content type, size, encoding) that come before the schema.

Powertools runs body validation before any user middleware, so these checks are called from two
places in app.py: a middleware (for bodies that pass validation) and the validation-error handler
(for bodies that fail it), so a form post is a 415 and a huge body a 413 whatever they contain.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from .exceptions import InvalidEncodingError, PayloadTooLargeError, UnsupportedMediaTypeError
from .models import MAX_BODY_BYTES


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise json.JSONDecodeError("duplicate key in object", "", 0)
    return dict(pairs)


def strict_json_loads(data: str) -> Any:
    """json.loads that refuses duplicate keys (which one would win is a guess, so it is a 400)."""
    return json.loads(data, object_pairs_hook=_reject_duplicate_keys)


def check_envelope(event: APIGatewayProxyEventV2) -> None:
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


class StageAwareEvent(APIGatewayProxyEventV2):
    """Strip the stage from the path only when the path carries it.

    Deployed, HTTP API sends `rawPath=/prod/predict` with stage `prod`; `sam local start-api`
    sends `rawPath=/predict` with stage `prod` (aws-sam-cli #5860). Powertools always cuts
    `len("/prod")` characters, which turns the second into `ict` (powertools #2765).
    """

    @property
    def path(self) -> str:
        stage = self.request_context.stage
        prefix = f"/{stage}"
        raw = self.raw_path
        if stage and stage != "$default" and (raw == prefix or raw.startswith(prefix + "/")):
            return raw[len(prefix) :] or "/"
        return raw


class HttpApiResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, routing both the deployed and the `sam local` event shapes."""

    def _to_proxy_event(self, event: dict[str, Any]) -> StageAwareEvent:
        return StageAwareEvent(event, self._json_body_deserializer)
