"""Adapter to the SageMaker endpoint: one boto3 `sagemaker-runtime` client per container.

It speaks the Hugging Face toolkit's wire format (`{"inputs": [...], "parameters": {...}}` →
`[{"label", "score"}, ...]`) and turns every botocore failure into one of our exceptions.
Locally, the standard botocore setting AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME points the same client
at the local model server; there is no other code path.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
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

from .config import Settings
from .exceptions import (
    InputRejectedError,
    ModelFailedError,
    ModelResponseInvalidError,
    ModelThrottledError,
    ModelTimeoutError,
    ModelUnavailableError,
)

# model/code/inference.py prefixes its error messages with these codes. The HF toolkit turns every
# exception into a 400, so this prefix is how a bad input is told apart from a model failure.
BAD_INPUT_CODE = "SP_BAD_INPUT"

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
        retries={"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
        tcp_keepalive=True,
    )
    return boto3.client("sagemaker-runtime", config=config)


class SageMakerEndpoint:
    def __init__(self, endpoint_name: str, client: Any) -> None:
        self.endpoint_name = endpoint_name
        self._client = client

    def classify(self, texts: list[str]) -> list[ModelPrediction]:
        payload = json.dumps({"inputs": texts, "parameters": {"truncation": True}}, ensure_ascii=False)
        try:
            response = self._client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType="application/json",
                Accept="application/json",
                Body=payload.encode("utf-8"),
            )
            raw = response["Body"].read()
        except ClientError as exc:
            raise _from_client_error(exc) from exc
        except ReadTimeoutError as exc:
            raise ModelTimeoutError("read timeout") from exc
        except (ConnectTimeoutError, EndpointConnectionError) as exc:
            raise ModelUnavailableError(type(exc).__name__) from exc
        except BotoCoreError as exc:
            raise ModelUnavailableError(type(exc).__name__) from exc
        return _parse(raw, expected=len(texts))


def _from_client_error(exc: ClientError) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code == "ModelError":
        original = str(exc.response.get("OriginalMessage") or error.get("Message") or "")
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
