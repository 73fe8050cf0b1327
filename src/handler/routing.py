"""Where Powertools' routing needs help, kept in one small module.

1. Stage paths. Deployed, HTTP API sends ``rawPath=/prod/predict`` with stage ``prod``;
   ``sam local start-api`` sends ``rawPath=/predict`` with stage ``prod`` (aws-sam-cli #5860).
   Powertools always cuts ``len("/prod")`` characters, which turns the second into ``ict``
   (powertools #2765). ``StageAwareEvent`` strips the stage only when the path carries it.
2. Envelope before schema. Powertools runs its request-validation middleware before every user
   middleware (powertools #5228, #7050), so a 413/415 would depend on what the body contains.
   A route that needs the envelope checked first turns the resolver-wide validation off for itself
   and lists the same public ``OpenAPIRequestValidationMiddleware`` after the envelope check
   (``envelope_then_validation``). The OpenAPI document is generated from the route either way.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIRequestValidationMiddleware
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from .envelope import check_envelope


class StageAwareEvent(APIGatewayProxyEventV2):
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


def _envelope_check(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    check_envelope(app.current_event)
    return next_middleware(app)


def envelope_then_validation() -> dict[str, Any]:
    """Route options: check the envelope, then validate the body (instead of validating first)."""
    return {"enable_validation": False, "middlewares": [_envelope_check, OpenAPIRequestValidationMiddleware()]}
