"""Adapter to the SageMaker endpoint: one `sagemaker-runtime` client per container.

The client is the one ``boto3.client("sagemaker-runtime")`` returns (botocore's, from the runtime's
own SDK), made from botocore's session directly: importing boto3 also imports its resource layer
and s3transfer, cold-start time for nothing this function uses.

It speaks the Hugging Face toolkit's wire format (`{"inputs": [...], "parameters": {...}}` →
`[{"label", "score"}, ...]`; model_wire.py holds its parts) and turns every botocore failure into one
of our exceptions.

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
from collections.abc import Callable
from dataclasses import dataclass
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

from .config import MAX_BACKOFF_S, Settings
from .exceptions import (
    ModelFailedError,
    ModelThrottledError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from .model_wire import ModelReport, Scoring, Usage, model_refusal, parse_predictions, parse_report

_UNAVAILABLE_CODES = {
    "ValidationError",  # endpoint does not exist (or not in this region/account)
    "ServiceUnavailable",
    "InternalFailure",
    "InternalDependencyException",
    "ModelNotReadyException",
}
_THROTTLING_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException"}
INFO_PARAMETERS = {"info": True}  # inference.py answers with its ModelReport instead of predictions


@dataclass(frozen=True)
class Classified:
    predictions: list[Any]  # per text: a ModelPrediction, or with top_k a list of them
    usage: Usage


def make_client(settings: Settings) -> Any:
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"mode": settings.retry_mode, "total_max_attempts": 1},  # retries: SageMakerEndpoint
        tcp_keepalive=True,
    )
    return botocore.session.get_session().create_client("sagemaker-runtime", config=config)


def make_control_client(settings: Settings) -> Any:
    """The ``sagemaker`` client for DescribeEndpoint (GET /health?deep=true), made on first use: its
    service model is large, and most containers never need it."""
    config = Config(connect_timeout=settings.connect_timeout, read_timeout=5, retries={"total_max_attempts": 1})
    return botocore.session.get_session().create_client("sagemaker", config=config)


class _NotReached(Exception):
    """The request never reached the model (throttled, or no connection): safe to send again."""

    def __init__(self, error: Exception) -> None:
        self.error = error


class SageMakerEndpoint:
    def __init__(
        self,
        endpoint_name: str,
        client: Any,
        max_total_tokens: int,
        max_attempts: int = 1,
        control_client: Callable[[], Any] | None = None,
    ) -> None:
        self.endpoint_name = endpoint_name
        self.max_attempts = max_attempts
        self.max_total_tokens = max_total_tokens
        self._client = client
        self._control_client = control_client

    def classify(self, texts: list[str], scoring: Scoring | None = None) -> Classified:
        scoring = scoring or Scoring()
        raw, attributes = self._call({"inputs": texts, "parameters": scoring.parameters(self.max_total_tokens)})
        return Classified(parse_predictions(raw, len(texts), scoring), Usage.parse(attributes))

    def report(self) -> ModelReport:
        """Which model, revision and code the endpoint serves (GET /info)."""
        raw, _ = self._call({"inputs": [], "parameters": INFO_PARAMETERS})
        return parse_report(raw)

    def status(self) -> str:
        """The endpoint's EndpointStatus from DescribeEndpoint (GET /health?deep=true)."""
        if self._control_client is None:
            raise ModelUnavailableError("no control-plane client")
        try:
            described = self._control_client().describe_endpoint(EndpointName=self.endpoint_name)
        except ClientError as exc:
            raise ModelUnavailableError(str(exc.response.get("Error", {}).get("Code", ""))[:64]) from exc
        except BotoCoreError as exc:
            raise ModelUnavailableError(type(exc).__name__) from exc
        return str(described.get("EndpointStatus", "Unknown"))

    def _call(self, payload: dict[str, Any]) -> tuple[bytes, str | None]:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._invoke(body)
            except _NotReached as failure:
                if attempt == self.max_attempts:
                    raise failure.error from None
                time.sleep(random.uniform(0, MAX_BACKOFF_S))
        raise AssertionError("unreachable: max_attempts >= 1")

    def _invoke(self, body: bytes) -> tuple[bytes, str | None]:
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
        return raw, response.get("CustomAttributes")


def _from_client_error(exc: ClientError) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code == "ModelError":
        original = str(exc.response.get("OriginalMessage") or error.get("Message") or "")
        refusal = model_refusal(original)
        if isinstance(refusal, ModelFailedError):
            return ModelFailedError(f"ModelError, original status {exc.response.get('OriginalStatusCode')}")
        return refusal
    if code in _THROTTLING_CODES:
        return ModelThrottledError(code)
    if code in _UNAVAILABLE_CODES:
        return ModelUnavailableError(code)
    return ModelFailedError(f"unexpected error code {code[:64]}")
