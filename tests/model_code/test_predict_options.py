"""predict_fn with the request's options on a tiny model: the token budget, truncation you can see and
refuse, ranked labels, the usage reported in CustomAttributes and the info call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from model.code import identity, inference

pytestmark = pytest.mark.model

LONG = "good movie " * 300  # 602 tokens


@pytest.fixture(scope="module")
def loaded(tiny_model: Path) -> Iterator[inference.LoadedModel]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SP_INFERENCE_VARIANT", "fp32")
        yield inference.model_fn(str(tiny_model))


class Context:
    """What the toolkit passes as ``context``: multi-model-server's, which sets response headers."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}

    def set_response_header(self, index: int, key: str, value: str) -> None:
        assert index == 0
        self.headers[key] = value


def call(loaded: inference.LoadedModel, texts: Any, **parameters: Any) -> tuple[Any, dict[str, str]]:
    context = Context()
    data = inference.input_fn(json.dumps({"inputs": texts, "parameters": parameters}), "application/json", context)
    body = inference.output_fn(inference.predict_fn(data, loaded, context), "application/json", context)
    return json.loads(body), context.headers


def test_usage_goes_in_the_custom_attributes_header(loaded: inference.LoadedModel) -> None:
    answer, headers = call(loaded, ["good", LONG])
    assert len(answer) == 2
    version = loaded.identity.version
    assert headers == {inference.CUSTOM_ATTRIBUTES: f"tokens={3 + 512};truncated=1;model={version}"}


def test_truncation_off_names_each_text_too_long_before_model_work(
    loaded: inference.LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inference, "_forward", lambda *a: pytest.fail("the model ran"))
    with pytest.raises(inference.InputError, match=r"^SP_BAD_INPUT: SP_TOO_LONG: max_length=512 texts=1:602,2:602$"):
        call(loaded, ["fine", LONG, LONG], truncation=False)


def test_ranked_labels_and_logits(loaded: inference.LoadedModel) -> None:
    (ranked,), _ = call(loaded, ["good"], top_k=None, function_to_apply="none")
    assert {p["label"] for p in ranked} == set(loaded.id2label.values())
    scores = [p["score"] for p in ranked]
    assert scores == sorted(scores, reverse=True)
    (best,), _ = call(loaded, ["good"])
    assert best["label"] == ranked[0]["label"]
    (everything,), _ = call(loaded, ["good"], top_k=len(loaded.id2label) + 1, function_to_apply="none")
    assert everything == ranked


def test_the_info_call_reports_the_model_and_the_code(loaded: inference.LoadedModel, tiny_model: Path) -> None:
    report, headers = call(loaded, [], info=True)
    assert report["inference_sha256"] == identity.file_sha256("inference.py")
    assert report["revision"] == "sha256:" + identity.weights_sha256(str(tiny_model))
    assert (report["variant"], report["max_length"], headers) == ("fp32", 512, {})
    with pytest.raises(inference.InputError, match="takes no inputs"):
        inference.input_fn(json.dumps({"inputs": ["x"], "parameters": {"info": True}}), "application/json")


def test_token_budget_counts_truncated_tokens(loaded: inference.LoadedModel) -> None:
    """The budget is what the model computes: tokens after truncation to 512, [CLS] and [SEP] included."""
    long_text = "good movie " * 600  # 1,200 words, truncated to 512 tokens
    counted = [len(ids) for ids in inference.encode(loaded, [long_text, "good"])]
    assert counted == [512, 3]
    budget = sum(counted)
    answer, _ = call(loaded, [long_text, "good"], max_total_tokens=budget)
    assert len(answer) == 2
    with pytest.raises(inference.TokenBudgetExceeded, match=f"^{inference.BAD_INPUT}: {inference.OVER_BUDGET}: 515 "):
        call(loaded, [long_text, "good"], max_total_tokens=budget - 1)


def test_token_budget_on_an_empty_batch(loaded: inference.LoadedModel) -> None:
    assert inference.encode(loaded, []) == []
    assert call(loaded, [], max_total_tokens=1) == ([], {})


@pytest.mark.parametrize("budget", [0, -1, 1.5, "100", True])
def test_token_budget_must_be_a_positive_integer(budget: Any) -> None:
    body = json.dumps({"inputs": "a", "parameters": {"max_total_tokens": budget}}).encode()
    with pytest.raises(inference.InputError, match="max_total_tokens"):
        inference.input_fn(body, "application/json")
