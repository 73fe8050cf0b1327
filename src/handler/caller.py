"""Who called, as API Gateway authenticated them: a key on every log line of the request, never the token.

With ``AuthMode: JWT`` the HTTP API validates the token before the function runs and passes its claims
in ``requestContext.authorizer.jwt``; with ``IAM`` it passes the signer in ``authorizer.iam``; with
``NONE`` (and under ``sam local``, which runs no JWT authorizer) there is no authorizer context.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from .observability import logger

ANONYMOUS = "anonymous"


def caller_of(event: APIGatewayProxyEventV2) -> str:
    """``jwt:<sub>`` (or the client id of a machine token without sub), ``iam:<user arn>``, or anonymous."""
    authorizer = event.request_context.authorizer  # empty when the API has no authorizer
    claims = authorizer.jwt_claim
    if claims:
        return f"jwt:{claims.get('sub') or claims.get('client_id') or 'unknown'}"
    user_arn = authorizer.iam.user_arn if authorizer.get("iam") else None
    return f"iam:{user_arn}" if user_arn else ANONYMOUS


def log_caller(app: APIGatewayHttpResolver, next_middleware: Callable[..., Response[Any]]) -> Response[Any]:
    """Route middleware: sets ``caller`` (and the token's scopes) for the request's log lines."""
    authorizer = app.current_event.request_context.authorizer
    logger.append_keys(caller=caller_of(app.current_event), scopes=authorizer.jwt_scopes or None)
    return next_middleware(app)
