"""The wire to inference.py, apart from the public contract: parameters, replies, usage, refusals."""

from __future__ import annotations

import json

import pytest

from handler.exceptions import (
    InputRejectedError,
    ModelFailedError,
    ModelResponseInvalidError,
    TextTooLongError,
    TooManyTokensError,
)
from handler.model_wire import Scoring, Usage, model_refusal, parse_predictions, parse_report

pytestmark = pytest.mark.unit


def test_parameters_are_named_as_the_pipeline_names_them() -> None:
    assert Scoring().parameters(2048) == {"truncation": True, "max_total_tokens": 2048, "function_to_apply": "softmax"}
    ranked = Scoring(top_k="all", function_to_apply="none", truncate=False).parameters(10)
    assert ranked == {"truncation": False, "max_total_tokens": 10, "function_to_apply": "none", "top_k": None}
    assert Scoring(top_k=2).parameters(10)["top_k"] == 2


@pytest.mark.parametrize(
    ("attributes", "headers"),
    [
        ("tokens=12;truncated=1;model=sha256:ab", {"x-compute-tokens": "12", "x-truncated-texts": "1", "x-model-version": "sha256:ab"}),  # noqa: E501
        ("tokens=3", {"x-compute-tokens": "3"}),
        (None, {}),
        ("", {}),
        ("tokens=-1;truncated=x;model=has space", {}),  # never passed on unless well formed
        ("model=caf\u00e9", {}),
        ("garbage", {}),
    ],
)  # fmt: skip
def test_usage_headers_carry_only_well_formed_values(attributes: str | None, headers: dict[str, str]) -> None:
    assert Usage.parse(attributes).headers() == headers


def test_refusals_map_to_statuses_with_fields_we_build() -> None:
    too_long = model_refusal("SP_BAD_INPUT: SP_TOO_LONG: max_length=512 texts=0:602,3:1000")
    assert isinstance(too_long, TextTooLongError) and too_long.status == 422
    assert too_long.fields == [
        ("texts.0", "602 tokens; the model reads at most 512"),
        ("texts.3", "1000 tokens; the model reads at most 512"),
    ]
    assert isinstance(model_refusal("SP_BAD_INPUT: SP_TOKEN_BUDGET: 9 tokens over"), TooManyTokensError)
    assert isinstance(model_refusal("SP_BAD_INPUT: anything else <secret>"), InputRejectedError)
    assert isinstance(model_refusal("SP_MODEL_FAILURE: RuntimeError"), ModelFailedError)
    # multi-model-server's envelope, with '=' escaped as Gson writes it on the real stack
    envelope = '{"code": 400, "type": "InternalServerException", "message": "SP_BAD_INPUT: SP_TOO_LONG: max_length\\u003d512 texts\\u003d0:602"}'  # noqa: E501
    assert model_refusal(envelope).fields == [("texts.0", "602 tokens; the model reads at most 512")]  # type: ignore[attr-defined]
    # A malformed code is no field list: it falls back to the plain refusal, never echoing the message.
    assert isinstance(model_refusal("SP_BAD_INPUT: SP_TOO_LONG: max_length=512 texts=<script>"), InputRejectedError)


def test_replies_are_checked_against_the_options_asked() -> None:
    flat = json.dumps([{"label": "POSITIVE", "score": 0.9}]).encode()
    assert parse_predictions(flat, 1, Scoring())[0].label == "POSITIVE"
    ranked = json.dumps([[{"label": "POSITIVE", "score": 4.0}, {"label": "NEGATIVE", "score": -3.0}]]).encode()
    assert len(parse_predictions(ranked, 1, Scoring(top_k="all", function_to_apply="none"))[0]) == 2
    with pytest.raises(ModelResponseInvalidError):  # logits where probabilities were asked for
        parse_predictions(ranked, 1, Scoring(top_k="all"))
    with pytest.raises(ModelResponseInvalidError):  # more labels than top_k
        parse_predictions(ranked, 1, Scoring(top_k=1, function_to_apply="none"))
    with pytest.raises(ModelResponseInvalidError):  # a flat answer where lists were asked for
        parse_predictions(flat, 1, Scoring(top_k=1))
    with pytest.raises(ModelResponseInvalidError):
        parse_predictions(flat, 2, Scoring())
    with pytest.raises(ModelResponseInvalidError):
        parse_predictions(b'[{"label": "POSITIVE", "score": NaN}]', 1, Scoring(function_to_apply="none"))


def test_info_report_must_match_its_schema() -> None:
    good = {
        "model_id": "archive",
        "revision": "sha256:" + "a" * 64,
        "labels": ["NEGATIVE", "POSITIVE"],
        "inference_sha256": "b" * 64,
        "code_sha256": "c" * 64,
        "variant": "fp32",
        "max_length": 512,
    }
    assert parse_report(json.dumps(good).encode()).name is None
    with pytest.raises(ModelResponseInvalidError):
        parse_report(json.dumps({**good, "inference_sha256": "short"}).encode())
    with pytest.raises(ModelResponseInvalidError):
        parse_report(b"[]")
