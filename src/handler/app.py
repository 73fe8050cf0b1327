"""The Lambda: resolver, routes and the one error mapping. Business logic lives in logic.py."""

import binascii
import functools
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponseHeader
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import TypeAdapter

from . import logic
from .caller import log_caller
from .config import Settings
from .contract import (
    MAX_REQUEST_TOKENS,
    ErrorDetail,
    ErrorInfo,
    ErrorResponse,
    Health,
    Info,
    Prediction,
    PredictRequest,
)
from .endpoint import SageMakerEndpoint, make_client, make_control_client
from .envelope import strict_json_loads
from .exceptions import (
    InvalidEncodingError,
    InvalidJSONError,
    MethodNotAllowedError,
    NotFoundError,
    SentimentPulseError,
    ValidationError,
)
from .observability import capture_lambda_handler, logger, metrics
from .routing import HttpApiResolver, envelope_then_validation

API_TITLE = "SentimentPulse"
API_VERSION = "1.0.0"
PREDICT_PATH = "/predict"
DOCS_PATH = "/docs"
METHODS = {PREDICT_PATH: "POST", "/health": "GET", "/info": "GET", DOCS_PATH: "GET", "/openapi.json": "GET"}

settings = Settings.from_env()  # cold start: a misconfigured function fails here, loudly
endpoint = SageMakerEndpoint(
    settings.endpoint_name,
    make_client(settings),
    MAX_REQUEST_TOKENS,
    settings.max_attempts,
    functools.cache(functools.partial(make_control_client, settings)),
)


app = HttpApiResolver(enable_validation=True, json_body_deserializer=strict_json_loads)
app.use(middlewares=[log_caller])

_ERROR_RESPONSES: dict[int, Any] = {
    status: {
        "description": description,
        "content": {"application/json": {"model": ErrorResponse}},
    }
    for status, description in (
        (400, "Malformed JSON or bad encoding"),
        (413, "Body over the size limit, or texts over the token budget (x-max-request-tokens)"),
        (415, "Content type is not application/json"),
        (422, "Body does not match the schema"),
        (502, "The model failed or answered nonsense"),
        (503, "The endpoint is missing, throttled or unavailable (see Retry-After)"),
        (504, "The model did not answer in time"),
    )
}


_ANSWERS: TypeAdapter[list[Prediction | list[Prediction]]] = TypeAdapter(list[Prediction | list[Prediction]])
_USAGE_HEADERS: dict[str, OpenAPIResponseHeader] = {
    name: {"description": description, "schema": {"type": kind}}
    for name, kind, description in (
        ("x-compute-tokens", "integer", "Tokens the model computed for this request (after truncation)."),
        ("x-truncated-texts", "integer", "How many texts were cut to the model's maximum length."),
        ("x-model-version", "string", "The serving model: Hub id@commit, or sha256: of the archive's model files."),
    )
}


@app.post(
    PREDICT_PATH,
    summary="Classify the sentiment of one text or a batch",
    responses={
        200: {
            "description": "One prediction per text, in input order (with top_k: a list per text, best first)",
            "headers": _USAGE_HEADERS,
        },
        **_ERROR_RESPONSES,
    },
    **envelope_then_validation(),
)
def predict(request: Annotated[PredictRequest, Body()]) -> Response[list[Prediction] | list[list[Prediction]]]:
    answers, usage = logic.predict(request, endpoint)
    body: Any = _ANSWERS.dump_json(answers).decode("utf-8")  # serialized here: the route validates requests only
    return Response(200, content_types.APPLICATION_JSON, body, headers=usage.headers())


@app.get(
    "/health",
    summary="Whether the API answers; with deep=true, whether the SageMaker endpoint is InService",
    responses={200: {"description": "Healthy"}, 503: _ERROR_RESPONSES[503]},
)
def health(deep: Annotated[bool, Query(description="Also ask SageMaker for the endpoint's status.")] = False) -> Health:
    return logic.health(endpoint, settings.endpoint_name, deep)


@app.get(
    "/info",
    summary="Which model, revision and inference code answer, and the request limits",
    responses={200: {"description": "Asked of the endpoint itself"}, **_ERROR_RESPONSES},
)
def info() -> Info:
    return logic.info(endpoint)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    body = app.get_openapi_json_schema(title=API_TITLE, version=API_VERSION)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=body)


# Swagger UI from the same OpenAPI document; Powertools inlines the UI's script and stylesheet it ships
# (no swagger_base_url), so the page needs no CDN.
app.enable_swagger(path=DOCS_PATH, title=API_TITLE, version=API_VERSION)


def _error_response(exc: SentimentPulseError, details: list[ErrorDetail] | None = None) -> Response[str]:
    request_id = app.current_event.request_context.request_id
    with single_metric(name="Errors", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="ErrorCode", value=exc.code)
    log = logger.error if exc.status >= 500 else logger.warning
    log("request failed", extra={"status": exc.status, "error_code": exc.code, "reason": exc.detail})
    if details is None and exc.fields:
        details = [ErrorDetail(field=field, issue=issue) for field, issue in exc.fields]
    envelope = ErrorResponse(
        error=ErrorInfo(code=exc.code, message=exc.message, request_id=request_id, details=details)
    )
    return Response(
        status_code=exc.status,
        content_type=content_types.APPLICATION_JSON,
        body=envelope.model_dump_json(by_alias=True, exclude_none=True),
        headers=exc.headers() or None,
    )


@app.exception_handler(SentimentPulseError)
def handle_known_error(exc: SentimentPulseError) -> Response[str]:
    return _error_response(exc)


@app.exception_handler([RequestValidationError, RequestUnsupportedContentType, ValueError])
def handle_bad_body(exc: Exception) -> Response[str]:
    """Body problems found by Powertools' request validation (the envelope was checked before it).

    ValueError covers the parsers' own failures (base64, UTF-8, multipart without a boundary).
    """
    if isinstance(exc, binascii.Error | UnicodeDecodeError):
        return _error_response(InvalidEncodingError(type(exc).__name__))
    if not isinstance(exc, RequestValidationError):
        raise exc  # not a request problem: a bug, and an honest 500
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return _error_response(InvalidJSONError())
    details = [
        ErrorDetail(
            # ("body", "texts", 3, "function-after[...]") -> "texts.3": field names and indexes only
            field=".".join(str(p) for p in err.get("loc", ())[1:] if isinstance(p, int) or str(p).isidentifier())
            or "body",
            issue=str(err.get("msg", "invalid"))[:200],
        )
        for err in errors
        if err.get("type") != "none_required"  # the "or null" half of an optional field: noise
    ]
    return _error_response(ValidationError(f"{len(details)} schema errors"), details)


@app.not_found
def handle_not_found(exc: RouteNotFound) -> Response[str]:
    allowed = METHODS.get(app.current_event.path)
    if allowed is not None:  # the route exists, the method does not
        return _error_response(MethodNotAllowedError(allowed))
    return _error_response(NotFoundError())


# clear_state: keys a request appended (its caller) never reach the next request's lines
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False, clear_state=True)
@capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
