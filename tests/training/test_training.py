"""The training command (smoke run) and the embedded model it produced."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from model.code import inference
from model.digest import sha256_file
from model.training import base
from model.training.data import LABELS, read_tsv
from model.training.evaluate import predict_labels, score
from model.training.train import TOKENIZER_FILES
from tests.support import EMBEDDED_MODEL, ROOT, SHARED_DATA

pytestmark = pytest.mark.model

SST2 = SHARED_DATA / "sst2"
needs_data = pytest.mark.skipif(not (SST2 / "train.tsv").is_file(), reason=f"SST-2 data not found at {SST2}")
needs_base = pytest.mark.skipif(
    importlib.util.find_spec(base.MODULE) is None, reason=f"{base.PACKAGE} is not installed (make install adds it)"
)

POSITIVE = [
    "This product is amazing, I loved it!",
    "An absolute joy from start to finish.",
    "A wonderful, moving and beautifully acted film.",
    "I highly recommend it, a great experience.",
    "The best movie I have seen this year.",
    "Funny, smart and full of heart.",
    "A brilliant and delightful surprise.",
    "It is a charming, touching story with great performances.",
    "Excellent work, I enjoyed every minute.",
    "A beautiful film that is both funny and wise.",
]
NEGATIVE = [
    "This was a terrible waste of money.",
    "The worst film I have ever seen.",
    "Boring, dull and far too long.",
    "A stupid, pointless mess.",
    "I hated it, an awful experience.",
    "The plot is predictable and the acting is bad.",
    "A tedious, lifeless and ugly movie.",
    "Nothing works in this boring disaster.",
    "It is a mediocre, forgettable film with no charm.",
    "Painfully unfunny and badly written.",
]


def train_command(out: Path, work: Path, *extra: str) -> list[str]:
    data = ["--data", str(SST2), "--out", str(out), "--work", str(work), "--limit", "120"]
    settings = ["--epochs", "1", "--batch-size", "16", "--eval-every", "2", "--threads", "1"]
    return [sys.executable, "-m", "model.training.train", *data, *settings, *extra]


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


@needs_base
@needs_data
def test_training_smoke_run_produces_a_loadable_hf_directory(tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = run(train_command(out, tmp_path / "work"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "fine-tune" in result.stderr and "dev accuracy" in result.stderr  # progress is shown
    names = {p.name for p in out.iterdir()}
    assert names == {"config.json", "model.safetensors", "README.md", "training.json", *TOKENIZER_FILES}
    weights = load_file(out / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float16}
    loaded = inference.model_fn(str(out))
    assert loaded.variant != "fp32" or next(loaded.backend.parameters()).dtype == torch.float32
    assert loaded.max_length == 512  # the encoder's own limit, not the training length
    predictions = inference.predict_fn({"inputs": ["good", "bad"]}, loaded)
    assert all(p["label"] in {"POSITIVE", "NEGATIVE"} for p in predictions)
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["data"]["train.tsv"]["rows"] == 120
    assert record["data"]["train.tsv"]["sha256"] == sha256_file(SST2 / "train.tsv")
    assert record["base"]["sha256"] == base.PINNED_SHA256
    assert record["hyperparameters"]["seed"] == 13
    assert record["history"][-1]["step"] == record["total_steps"] == 8
    card = (out / "README.md").read_text(encoding="utf-8")
    assert base.HUB_ID in card and base.HUB_REVISION in card and "license: apache-2.0" in card


@needs_base
@needs_data
def test_a_paused_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    straight, paused = tmp_path / "straight", tmp_path / "paused"
    assert run(train_command(straight, tmp_path / "w1")).returncode == 0
    first = run(train_command(paused, tmp_path / "w2", "--stop-after", "3"))
    assert first.returncode == 0 and "paused after 3 steps" in first.stdout
    assert not paused.exists()
    second = run(train_command(paused, tmp_path / "w2"))
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming from" in second.stderr and "at step 3/8" in second.stderr
    a, b = load_file(straight / "model.safetensors"), load_file(paused / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


@needs_base
def test_training_refuses_a_base_that_is_not_the_pinned_one(tmp_path: Path) -> None:
    copy = tmp_path / "base"
    shutil.copytree(base.locate(), copy)
    config = copy / "config.json"
    config.write_text(config.read_text(encoding="utf-8").replace('"hidden_size": 384', '"hidden_size": 385'))
    with pytest.raises(base.BaseModelError, match="is not the pinned"):
        base.verify(copy)
    result = run(train_command(tmp_path / "m", tmp_path / "w", "--base", str(copy)))
    assert result.returncode == 2
    assert "config.json: sha256" in result.stderr and "Traceback" not in result.stderr


def test_training_refuses_missing_data(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "model.training.train", "--data", str(tmp_path), "--out", str(tmp_path / "m")],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "data file not found" in result.stderr


@pytest.fixture(scope="module")
def embedded() -> inference.LoadedModel:
    return inference.model_fn(str(EMBEDDED_MODEL))


def test_embedded_model_is_a_small_hf_directory() -> None:
    files = {p.name for p in EMBEDDED_MODEL.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "training.json", *TOKENIZER_FILES} <= files
    assert sum(p.stat().st_size for p in EMBEDDED_MODEL.iterdir()) <= 50 * 1000 * 1000
    config = json.loads((EMBEDDED_MODEL / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert config["id2label"] == {"0": "NEGATIVE", "1": "POSITIVE"}
    weights = load_file(EMBEDDED_MODEL / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float16}
    record = json.loads((EMBEDDED_MODEL / "training.json").read_text(encoding="utf-8"))
    assert record["base"]["sha256"] == base.PINNED_SHA256
    assert record["limit"] is None  # trained on all of train.tsv


def test_seed_sentence(embedded: inference.LoadedModel) -> None:
    [prediction] = inference.predict_fn({"inputs": ["This product is amazing, I loved it!"]}, embedded)
    assert prediction["label"] == "POSITIVE"
    assert prediction["score"] >= 0.99


def test_twenty_clear_sentences(embedded: inference.LoadedModel) -> None:
    predictions = inference.predict_fn({"inputs": POSITIVE + NEGATIVE}, embedded)
    got = [p["label"] for p in predictions]
    assert got == ["POSITIVE"] * len(POSITIVE) + ["NEGATIVE"] * len(NEGATIVE)


def card_figure() -> float:
    card = (EMBEDDED_MODEL / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"re-measured through the serving code: \*\*([0-9.]+) %\*\*", card)
    assert stated is not None
    return float(stated.group(1))


def dev_accuracy(path: str) -> float:
    examples = read_tsv(SST2 / "dev.tsv")
    predicted = predict_labels(EMBEDDED_MODEL, [e.text for e in examples], path)
    return score(path, [LABELS[e.label] for e in examples], predicted).accuracy * 100


@needs_data
def test_model_card_states_the_measured_dev_accuracy() -> None:
    assert card_figure() == pytest.approx(dev_accuracy("fp32"), abs=0.01)


@needs_data
def test_served_model_keeps_the_accuracy_the_card_claims() -> None:
    """Regression gate: the default serving path on dev.tsv, at most 0.5 points below the card."""
    assert dev_accuracy(inference.DEFAULT_VARIANT) >= card_figure() - 0.5
