"""options.py: the parameters a request may give inference.py, and how logits become answers."""

from __future__ import annotations

import math

import pytest
import torch

from model.code.options import BAD_INPUT, InputError, Options

pytestmark = pytest.mark.unit

LABELS = {0: "NEGATIVE", 1: "POSITIVE", 2: "NEUTRAL"}
LOGITS = torch.tensor([-1.0, 2.0, 0.5])


def test_defaults_are_todays_behaviour() -> None:
    assert Options.parse(None) == Options.parse({}) == Options()
    answer = Options().answer(LOGITS, LABELS)
    assert answer["label"] == "POSITIVE"
    assert math.isclose(answer["score"], float(torch.softmax(LOGITS, -1)[1]), rel_tol=1e-6)


def test_top_k_ranks_best_first_and_null_means_every_label() -> None:
    two = Options.parse({"top_k": 2}).answer(LOGITS, LABELS)
    assert [p["label"] for p in two] == ["POSITIVE", "NEUTRAL"]
    every = Options.parse({"top_k": None}).answer(LOGITS, LABELS)
    assert [p["label"] for p in every] == ["POSITIVE", "NEUTRAL", "NEGATIVE"]
    assert math.isclose(sum(p["score"] for p in every), 1.0, rel_tol=1e-6)


def test_function_to_apply() -> None:
    sigmoid = Options.parse({"top_k": None, "function_to_apply": "sigmoid"}).answer(LOGITS, LABELS)
    assert [round(p["score"], 4) for p in sigmoid] == [round(1 / (1 + math.exp(-x)), 4) for x in (2.0, 0.5, -1.0)]
    logits = Options.parse({"top_k": None, "function_to_apply": "none"}).answer(LOGITS, LABELS)
    assert [p["score"] for p in logits] == [2.0, 0.5, -1.0]


def test_top_k_over_the_labels_gets_every_label_as_the_pipeline_slices() -> None:
    assert Options.parse({"top_k": 4}).answer(LOGITS, LABELS) == Options.parse({"top_k": None}).answer(LOGITS, LABELS)


@pytest.mark.parametrize(
    "parameters",
    [
        [1],
        {"top_k": 0},
        {"top_k": True},
        {"top_k": "2"},
        {"function_to_apply": "tanh"},
        {"truncation": "no"},
        {"max_total_tokens": 0},
        {"max_total_tokens": 1.5},
        {"info": 1},
    ],
)
def test_bad_parameters_are_the_callers_fault(parameters: object) -> None:
    with pytest.raises(InputError, match=f"^{BAD_INPUT}: "):
        Options.parse(parameters)
