"""What crosses the wire to and from model/code/inference.py, apart from the public contract.

The request's ``parameters`` (named as the transformers text-classification pipeline names them),
the schema of the model's reply, the usage the model reports in SageMaker's ``CustomAttributes``, and
the coded refusals ``inference.py`` raises. Checked here so the API can evolve without changing what
the model must emit.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic import ValidationError as PydanticValidationError

from .exceptions import (
    InputRejectedError,
    ModelFailedError,
    ModelResponseInvalidError,
    TextTooLongError,
    TooManyTokensError,
)

# inference.py prefixes its error messages with these codes. The HF toolkit turns every exception
# into a 400, so the prefix is how a bad input is told apart from a model failure.
BAD_INPUT_CODE = "SP_BAD_INPUT"
OVER_BUDGET_CODE = "SP_TOKEN_BUDGET"  # over parameters.max_total_tokens
TOO_LONG_CODE = "SP_TOO_LONG"  # truncation false and texts over the model's maximum length
_TOO_LONG = re.compile(rf"{TOO_LONG_CODE}: max_length=(\d+) texts=((?:\d+:\d+,)*\d+:\d+)")
_USAGE_VALUE = re.compile(r"^[\x21-\x7e]{1,256}$")  # visible US-ASCII, as CustomAttributes allows


@dataclass(frozen=True)
class Scoring:
    """How the model turns each text's logits into the answer (the public request's options)."""

    top_k: int | Literal["all"] | None = None  # None: one {label, score} per text
    function_to_apply: Literal["softmax", "sigmoid", "none"] = "softmax"
    truncate: bool = True

    def parameters(self, max_total_tokens: int) -> dict[str, Any]:
        """``parameters`` of the call: the endpoint counts tokens with the model's own tokenizer and
        refuses a request over ``max_total_tokens``. ``top_k: null`` means every label, as in the pipeline."""
        parameters: dict[str, Any] = {
            "truncation": self.truncate,
            "max_total_tokens": max_total_tokens,
            "function_to_apply": self.function_to_apply,
        }
        if self.top_k is not None:
            parameters["top_k"] = None if self.top_k == "all" else self.top_k
        return parameters


class ModelPrediction(BaseModel):
    """What the model must answer per label (the HF toolkit's shape)."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1, max_length=64)
    score: float = Field(allow_inf_nan=False)


_FLAT = TypeAdapter(list[ModelPrediction])
_RANKED = TypeAdapter(list[list[ModelPrediction]])


@dataclass(frozen=True)
class Usage:
    """What the model reports about a call in CustomAttributes: ``tokens=N;truncated=M;model=...``."""

    tokens: int | None = None
    truncated: int | None = None
    model: str | None = None

    @classmethod
    def parse(cls, attributes: str | None) -> Usage:
        pairs = dict(item.split("=", 1) for item in (attributes or "").split(";") if "=" in item)
        number = {k: int(v) for k, v in pairs.items() if k in ("tokens", "truncated") and v.isdigit()}
        model = pairs.get("model")
        version = model if model and _USAGE_VALUE.match(model) else None
        return cls(number.get("tokens"), number.get("truncated"), version)

    def headers(self) -> dict[str, str]:
        values = {"x-compute-tokens": self.tokens, "x-truncated-texts": self.truncated, "x-model-version": self.model}
        return {name: str(value) for name, value in values.items() if value is not None}


def parse_predictions(raw: bytes, expected: int, scoring: Scoring) -> list[Any]:
    """One entry per text: a {label, score}, or with ``top_k`` a list of them, best first."""
    try:
        if scoring.top_k is None:
            flat = _FLAT.validate_json(raw)
            _check_scores(flat, scoring)
            answer: list[Any] = flat
        else:
            ranked = _RANKED.validate_json(raw)
            limit = scoring.top_k if isinstance(scoring.top_k, int) else math.inf
            if any(not 0 < len(labels) <= limit for labels in ranked):
                raise ModelResponseInvalidError("a text's label list is empty or longer than top_k")
            for labels in ranked:
                _check_scores(labels, scoring)
            answer = ranked
    except PydanticValidationError:
        raise ModelResponseInvalidError("response is not one {label, score} (or list of them) per text") from None
    if len(answer) != expected:
        raise ModelResponseInvalidError(f"{len(answer)} predictions for {expected} texts")
    return answer


def _check_scores(predictions: list[ModelPrediction], scoring: Scoring) -> None:
    if scoring.function_to_apply != "none" and any(not 0.0 <= p.score <= 1.0 for p in predictions):
        raise ModelResponseInvalidError(f"{scoring.function_to_apply} score outside [0, 1]")


def container_message(original: str) -> str:
    """The message inside multi-model-server's error envelope (``{"code", "type", "message"}``): its
    JSON escapes ``=`` as ``\\u003d`` (Gson's HTML-safe default, seen on the real stack), so the codes'
    fields are read from the decoded message, not from the raw text."""
    try:
        envelope = json.loads(original)
    except ValueError:
        return original
    message = envelope.get("message") if isinstance(envelope, dict) else None
    return message if isinstance(message, str) else original


def model_refusal(original: str) -> Exception:
    """Our exception for a ModelError whose OriginalMessage carries one of inference.py's codes."""
    original = container_message(original)
    if OVER_BUDGET_CODE in original:
        return TooManyTokensError("model counted tokens over the budget")
    if match := _TOO_LONG.search(original):
        max_length = int(match.group(1))
        fields = []
        for pair in match.group(2).split(","):
            index, tokens = pair.split(":")
            fields.append((f"texts.{index}", f"{tokens} tokens; the model reads at most {max_length}"))
        return TextTooLongError(f"{len(fields)} texts over {max_length} tokens", fields)
    if BAD_INPUT_CODE in original:
        return InputRejectedError("model reported bad input")
    return ModelFailedError("ModelError")


class ModelReport(BaseModel):
    """The model's answer to an info call (``parameters: {"info": true}``): which model and code serve."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    model_id: str = Field(min_length=1, max_length=256)
    revision: str = Field(min_length=1, max_length=128)
    name: str | None = Field(default=None, max_length=256)
    labels: list[str] = Field(min_length=1, max_length=10_000)
    inference_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    code_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    variant: str = Field(min_length=1, max_length=64)
    max_length: int = Field(ge=1)

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        if any(not 0 < len(label) <= 64 for label in labels):
            raise ValueError("label of 1..64 characters")
        return labels


def parse_report(raw: bytes) -> ModelReport:
    try:
        return ModelReport.model_validate_json(raw)
    except PydanticValidationError:
        raise ModelResponseInvalidError("info answer does not match the report schema") from None
