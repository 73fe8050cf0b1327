"""Adapter to the SageMaker endpoint: one `sagemaker-runtime` client per container.

The client is the one ``boto3.client("sagemaker-runtime")`` returns (botocore's, from the runtime's
own SDK), made from botocore's session directly: importing boto3 also imports its resource layer
and s3transfer, cold-start time for nothing this function uses.

It speaks the Hugging Face toolkit's wire format (`{"inputs": [...], "parameters": {...}}` →
`[{"label", "score"}, ...]`) and turns every botocore failure into one of our exceptions.

Retries are ours, not botocore's (the client makes exactly one attempt per call). botocore's
standard mode would also retry a read timeout, which means the model was still computing: a second
attempt repeats all that work on an endpoint that is already slow, and still ends in a 504. So only
failures where the request never reached the model are retried: throttling, and a connection that
could not be opened (connect timeout, connection refused). Everything else is answered at once.
Locally, the standard botocore setting AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME points the same client
at the local model server; there is no other code path.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from .config import MAX_BACKOFF_S, Settings
from .exceptions import (
    InputRejectedError,
    ModelFailedError,
    ModelResponseInvalidError,
    ModelThrottledError,
    ModelTimeoutError,
    ModelUnavailableError,
    TooManyTokensError,
)

# model/code/inference.py prefixes its error messages with these codes. The HF toolkit turns every
# exception into a 400, so this prefix is how a bad input is told apart from a model failure.
BAD_INPUT_CODE = "SP_BAD_INPUT"
OVER_BUDGET_CODE = "SP_TOKEN_BUDGET"  # a bad input: over parameters.max_total_tokens

_UNAVAILABLE_CODES = {
    "ValidationError",  # endpoint does not exist (or not in this region/account)
    "ServiceUnavailable",
    "InternalFailure",
    "InternalDependencyException",
    "ModelNotReadyException",
}
_THROTTLING_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException"}


class ModelPrediction(BaseModel):
    """What the model must answer per text (the HF toolkit's shape). Checked here, apart from the
    public response item, so the API can evolve without changing what the model must emit."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1, max_length=64)
    score: float = Field(ge=0.0, le=1.0, allow_inf_nan=False)


_PREDICTIONS = TypeAdapter(list[ModelPrediction])


def make_client(settings: Settings) -> Any:
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"mode": settings.retry_mode, "total_max_attempts": 1},  # retries: SageMakerEndpoint
        tcp_keepalive=True,
    )
    return botocore.session.get_session().create_client("sagemaker-runtime", config=config)


def model_parameters(max_total_tokens: int) -> dict[str, Any]:
    """The ``parameters`` of every call: the endpoint counts tokens with the model's own tokenizer
    and refuses a request over ``max_total_tokens``."""
    return {"truncation": True, "max_total_tokens": max_total_tokens}


class _NotReached(Exception):
    """The request never reached the model (throttled, or no connection): safe to send again."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class SageMakerEndpoint:
    def __init__(self, endpoint_name: str, client: Any, max_total_tokens: int, max_attempts: int = 1) -> None:
        self.endpoint_name = endpoint_name
        self.max_attempts = max_attempts
        self.parameters = model_parameters(max_total_tokens)
        self._client = client

    def classify(self, texts: list[str]) -> list[ModelPrediction]:
        payload = {"inputs": texts, "parameters": self.parameters}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        for attempt in range(1, self.max_attempts + 1):
            try:
                return _parse(self._invoke(body), expected=len(texts))
            except _NotReached as failure:
                if attempt == self.max_attempts:
                    raise failure.error from None
                time.sleep(random.uniform(0, MAX_BACKOFF_S))
        raise AssertionError("unreachable: max_attempts >= 1")

    def _invoke(self, body: bytes) -> bytes:
        try:
            response = self._client.invoke_endpoint(
                EndpointName=self.endpoint_name, ContentType="application/json", Accept="application/json", Body=body
            )
            raw: bytes = response["Body"].read()
        except ClientError as exc:
            error = _from_client_error(exc)
            raise (_NotReached(error) if isinstance(error, ModelThrottledError) else error) from exc
        except ReadTimeoutError as exc:  # the model may still be computing: never sent again
            raise ModelTimeoutError("read timeout") from exc
        except (ConnectTimeoutError, EndpointConnectionError) as exc:
            raise _NotReached(ModelUnavailableError(type(exc).__name__)) from exc
        except BotoCoreError as exc:
            raise ModelUnavailableError(type(exc).__name__) from exc
        return raw


def _from_client_error(exc: ClientError) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code == "ModelError":
        original = str(exc.response.get("OriginalMessage") or error.get("Message") or "")
        if OVER_BUDGET_CODE in original:
            return TooManyTokensError("model counted tokens over the budget")
        if BAD_INPUT_CODE in original:
            return InputRejectedError("model reported bad input")
        return ModelFailedError(f"ModelError, original status {exc.response.get('OriginalStatusCode')}")
    if code in _THROTTLING_CODES:
        return ModelThrottledError(code)
    if code in _UNAVAILABLE_CODES:
        return ModelUnavailableError(code)
    return ModelFailedError(f"unexpected error code {code[:64]}")


def _parse(raw: bytes, expected: int) -> list[ModelPrediction]:
    try:
        predictions = _PREDICTIONS.validate_json(raw)
    except PydanticValidationError:
        raise ModelResponseInvalidError("response is not a list of {label, score}") from None
    if len(predictions) != expected:
        raise ModelResponseInvalidError(f"{len(predictions)} predictions for {expected} texts")
    return predictions
