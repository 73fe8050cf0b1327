"""The public contract: request, response item, limits and the one error envelope.

The OpenAPI document is generated from these models. What the model must answer is a separate
schema (`model_wire.ModelPrediction`), so the API can evolve without changing the model.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

MAX_TEXT_CHARS = 5000
MAX_TEXTS = 64
MAX_BODY_BYTES = 1_048_576  # 1 MiB of (decoded) request body
# The compute budget: tokens one request may make the model compute, counted by the endpoint's own
# tokenizer after truncation to the model's maximum length (512). Sized so that the worst accepted
# request finishes within half the read timeout on the slowest CPU the template allows (2 vCPUs
# without AVX-512, bench/budget.py) on the default fp32 variant; README "Request limits".
MAX_REQUEST_TOKENS = 2048
MAX_TOP_K = 1000  # the schema's bound; a top_k over the model's labels gets every label, as in the pipeline
SCORE_FUNCTIONS = ("softmax", "sigmoid", "none")  # the transformers text-classification pipeline's names
# One rule for validation and for the OpenAPI document (JSON Schema regexes and Python's `re` agree
# on this syntax): no control characters except tab, CR and LF, and at least one visible character
# (not whitespace, not a zero-width or bidi format mark).
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_INVISIBLE = r"\s\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
TEXT_PATTERN = rf"^[^{_CONTROL}]*[^{_CONTROL}{_INVISIBLE}][^{_CONTROL}]*$"
_TEXT_RE = re.compile(TEXT_PATTERN)


def _check_text(value: str) -> str:
    """Emoji, any script, RTL and zero-width characters are fine; control characters are not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text contains an unpaired surrogate") from None
    if not _TEXT_RE.fullmatch(value):
        raise ValueError("text is blank or contains control characters (only tab, CR and LF are allowed)")
    return value


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS, strict=True),
    AfterValidator(_check_text),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": TEXT_PATTERN}),
]


class PredictRequest(BaseModel):
    """Exactly one of `text` (one string) or `texts` (1..64 strings), within the token budget."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"text": "This product is amazing, I loved it!"}],
            "oneOf": [{"required": ["text"]}, {"required": ["texts"]}],
            "description": (
                f"Exactly one of `text` or `texts`. All texts together may hold at most {MAX_REQUEST_TOKENS} "
                "tokens (x-max-request-tokens), as the model counts them after truncating each text to "
                "512 tokens; a request over that budget is refused with 413 TOO_MANY_TOKENS. English "
                "prose runs at about 4 to 5 characters per token."
            ),
            "x-max-request-tokens": MAX_REQUEST_TOKENS,
        },
    )

    text: Text | SkipJsonSchema[None] = Field(default=None, description=f"One text, 1..{MAX_TEXT_CHARS} characters.")
    texts: Annotated[list[Text], Field(min_length=1, max_length=MAX_TEXTS)] | SkipJsonSchema[None] = Field(
        default=None,
        description=f"1..{MAX_TEXTS} texts, each 1..{MAX_TEXT_CHARS} characters; answered in order.",
    )

    top_k: Annotated[int, Field(ge=1, le=MAX_TOP_K, strict=True)] | Literal["all"] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Omit for one `{label, score}` per text (the default shape). An integer k, or `all`: each text "
            "gets a list of its k best labels (every label with `all`, or when k is more than the model "
            "has), best first, as the transformers text-classification pipeline's `top_k`."
        ),
    )
    function_to_apply: Literal["softmax", "sigmoid", "none"] = Field(
        default="softmax",
        description="How scores are computed from the logits: `softmax` (default), `sigmoid`, or `none` (raw logits).",
    )
    truncate: bool = Field(
        default=True,
        strict=True,
        description=(
            "true (default): a text longer than the model's maximum length in tokens is cut to it. false: such a "
            "request is refused with 422 TEXT_TOO_LONG naming each text. Every 200 says how many texts were cut "
            "(x-truncated-texts) and how many tokens were computed (x-compute-tokens)."
        ),
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        given = self.model_fields_set & {"text", "texts"}
        if len(given) != 1 or (self.text is None and self.texts is None):
            raise ValueError("send exactly one of 'text' or 'texts' (not null)")
        return self

    @field_validator("top_k", mode="before")
    @classmethod
    def _top_k_not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("top_k must be an integer or 'all' (omit it for the default shape)")
        # JSON Schema's integers include 2.0, as the OpenAPI document promises; 2.5 and "2" stay refused.
        return int(value) if isinstance(value, float) and value.is_integer() else value

    def as_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class Prediction(BaseModel):
    label: str = Field(description="The model's label, POSITIVE or NEGATIVE.", examples=["POSITIVE"])
    score: float = Field(
        description="`label`'s softmax probability by default; its sigmoid, or its raw logit, per `function_to_apply`.",
        examples=[0.9996],
    )


class Limits(BaseModel):
    max_texts: int = Field(description="Texts per request.")
    max_text_chars: int = Field(description="Characters per text.")
    max_request_tokens: int = Field(description="Tokens one request may make the model compute (after truncation).")
    max_length: int = Field(description="Tokens the model reads per text; longer texts are cut (or refused).")


class ModelInfo(BaseModel):
    id: str = Field(description="The Hub id the endpoint loaded, or `archive` for a packaged model.")
    revision: str = Field(description="The Hub commit, or `sha256:` of the archive's model files.")
    name: str | None = Field(default=None, description="The model card's title, when the model has a card.")
    labels: list[str]


class CodeInfo(BaseModel):
    inference_sha256: str = Field(description="sha256 of the code/inference.py that serves.")
    code_sha256: str = Field(description="sha256 over every module of code/ (code/files.py lists them).")
    variant: str = Field(description="The inference variant serving (SP_INFERENCE_VARIANT).")


class Info(BaseModel):
    """Which model and code answer, and the limits a request must keep."""

    model: ModelInfo
    code: CodeInfo
    limits: Limits


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    endpoint: str | None = Field(default=None, description="With ?deep=true: the endpoint's name.")
    endpoint_status: str | None = Field(
        default=None, description="With ?deep=true: DescribeEndpoint's EndpointStatus (InService, Updating, ...)."
    )


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
