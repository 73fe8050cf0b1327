"""Every error the API returns on purpose, with its HTTP status and public error code.

`app.py` maps `SentimentPulseError` to the JSON error envelope once. The public `message` is fixed
per class: clients never see `str()` of an underlying exception, a class name or a path.
"""

from __future__ import annotations

from typing import ClassVar


class SentimentPulseError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL"
    message: ClassVar[str] = "Internal error."
    retry_after: ClassVar[int | None] = None

    def __init__(self, detail: str | None = None, fields: list[tuple[str, str]] | None = None) -> None:
        # `detail` goes to logs only (never to the client), and must not contain request text.
        # `fields`: (field, issue) pairs the envelope's `details` shows; built by us, never from a message.
        super().__init__(detail or self.message)
        self.detail = detail
        self.fields = fields

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


# ---- client errors (4xx) -------------------------------------------------------------------
class InvalidJSONError(SentimentPulseError):
    status, code, message = 400, "INVALID_JSON", "The request body is not valid JSON."


class InvalidEncodingError(SentimentPulseError):
    status, code = 400, "INVALID_ENCODING"
    message = "The request body is not valid UTF-8 (or not valid base64 when marked as base64)."


class NotFoundError(SentimentPulseError):
    status, code, message = 404, "NOT_FOUND", "No such route. See GET /docs."


class MethodNotAllowedError(SentimentPulseError):
    status, code, message = 405, "METHOD_NOT_ALLOWED", "This route does not take that method; see the Allow header."

    def __init__(self, allowed: str) -> None:
        super().__init__(f"allowed: {allowed}")
        self.allowed = allowed

    def headers(self) -> dict[str, str]:
        return {"Allow": self.allowed}


class PayloadTooLargeError(SentimentPulseError):
    status, code, message = 413, "PAYLOAD_TOO_LARGE", "The request body is larger than the limit."


class TooManyTokensError(SentimentPulseError):
    status, code = 413, "TOO_MANY_TOKENS"
    message = "The texts hold more tokens than one request may (x-max-request-tokens); send them in several requests."


class UnsupportedMediaTypeError(SentimentPulseError):
    status, code, message = 415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as Content-Type: application/json."


class ValidationError(SentimentPulseError):
    status, code, message = 422, "VALIDATION_ERROR", "The request body does not match the schema."


class TextTooLongError(SentimentPulseError):
    status, code = 422, "TEXT_TOO_LONG"
    message = "With truncate false, every text must fit the model's maximum length; details names the others."


class InputRejectedError(SentimentPulseError):
    status, code, message = 422, "INPUT_REJECTED", "The model rejected the input."


# ---- upstream faults (5xx) -----------------------------------------------------------------
class ModelFailedError(SentimentPulseError):
    status, code, message = 502, "MODEL_ERROR", "The model failed to process the request."


class ModelResponseInvalidError(SentimentPulseError):
    status, code, message = 502, "MODEL_RESPONSE_INVALID", "The model returned an unexpected response."


class ModelUnavailableError(SentimentPulseError):
    status, code, message = 503, "MODEL_UNAVAILABLE", "The model endpoint is unavailable. Retry later."
    retry_after = 5


class ModelThrottledError(SentimentPulseError):
    status, code, message = 503, "MODEL_THROTTLED", "The model endpoint is busy. Retry later."
    retry_after = 2


class ModelTimeoutError(SentimentPulseError):
    status, code, message = 504, "MODEL_TIMEOUT", "The model did not answer in time."
