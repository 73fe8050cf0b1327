"""What the graph-path tests share: load a path as the model server would, and P(POSITIVE) per text."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.code import inference
from model.packaging.parity import p_positive as p_positive_of

# Different lengths in one call, so a forward pass holds padded rows.
TEXTS = ["good", "the movie was not fun and boring " * 8, "bad movie", "great great great", "a"]


def load(model_dir: Path, path: str, monkeypatch: pytest.MonkeyPatch) -> inference.LoadedModel:
    monkeypatch.setenv("SP_INFERENCE_VARIANT", path)
    return inference.model_fn(str(model_dir))


def p_positive(loaded: inference.LoadedModel, texts: list[str]) -> list[float]:
    return [p_positive_of(answer) for answer in inference.predict_fn({"inputs": texts}, loaded)]
