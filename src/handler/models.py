"""Public request/response models. The OpenAPI document is generated from these."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_TEXT_CHARS = 5000
MAX_TEXTS = 64
MAX_BODY_BYTES = 1_048_576  # 1 MiB of (decoded) request body
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def _check_text(value: str) -> str:
    """Emoji, any script, RTL and zero-width characters are fine; control characters are not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text contains an unpaired surrogate") from None
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in value):
        raise ValueError("text contains control characters (only tab, CR and LF are allowed)")
    if all(ch.isspace() or unicodedata.category(ch) in {"Cc", "Cf"} for ch in value):
        raise ValueError("text is blank (only whitespace or invisible characters)")
    return value


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS, strict=True),
    AfterValidator(_check_text),
]


class PredictRequest(BaseModel):
    """Exactly one of `text` (one string) or `texts` (1..64 strings)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "This product is amazing, I loved it!"}]},
    )

    text: Text | None = Field(default=None, description=f"One text, 1..{MAX_TEXT_CHARS} characters.")
    texts: list[Text] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TEXTS,
        description=f"1..{MAX_TEXTS} texts, each 1..{MAX_TEXT_CHARS} characters; answered in order.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send exactly one of 'text' or 'texts'")
        return self

    def as_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class Prediction(BaseModel):
    label: str = Field(description="The model's label, POSITIVE or NEGATIVE.", examples=["POSITIVE"])
    score: float = Field(ge=0.0, le=1.0, description="Softmax probability of `label`.", examples=[0.9996])


class ErrorDetail(BaseModel):
    field: str
    issue: str


class ErrorInfo(BaseModel):
    code: str = Field(examples=["VALIDATION_ERROR"])
    message: str
    request_id: str | None = Field(default=None, alias="requestId")
    details: list[ErrorDetail] | None = None

    model_config = ConfigDict(populate_by_name=True)


class ErrorResponse(BaseModel):
    """The one error envelope, for every 4xx and 5xx the function returns."""

    error: ErrorInfo
