"""The training command (smoke run) and the embedded model it produced."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from model.code import inference
from model.training.data import read_tsv
from model.training.evaluate import predict_labels, score
from tests.support import EMBEDDED_MODEL, ROOT, SHARED_DATA

SST2 = SHARED_DATA / "sst2"
needs_data = pytest.mark.skipif(not (SST2 / "train.tsv").is_file(), reason=f"SST-2 data not found at {SST2}")

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


@needs_data
def test_training_smoke_run_produces_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "model"
    result = subprocess.run(
        [sys.executable, "-m", "model.training.train", "--data", str(SST2), "--out", str(out),
         "--epochs", "1", "--mlm-epochs", "1", "--limit", "300"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ("config.json", "model.safetensors", "tokenizer.json", "README.md", "training.json"):
        assert (out / name).is_file(), name
    loaded = inference.model_fn(str(out))
    predictions = inference.predict_fn({"inputs": ["good", "bad"]}, loaded)
    assert [p["label"] in {"POSITIVE", "NEGATIVE"} for p in predictions] == [True, True]
    record = json.loads((out / "training.json").read_text(encoding="utf-8"))
    assert record["data"]["train.tsv"]["rows"] == 300
    assert len(record["data"]["train.tsv"]["sha256"]) == 64


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
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"} <= files
    assert sum(p.stat().st_size for p in EMBEDDED_MODEL.iterdir()) <= 32 * 1024 * 1024
    config = json.loads((EMBEDDED_MODEL / "config.json").read_text(encoding="utf-8"))
    assert config["architectures"] == ["DistilBertForSequenceClassification"]
    assert set(config["id2label"].values()) == {"POSITIVE", "NEGATIVE"}


def test_seed_sentence(embedded: inference.LoadedModel) -> None:
    [prediction] = inference.predict_fn({"inputs": ["This product is amazing, I loved it!"]}, embedded)
    assert prediction["label"] == "POSITIVE"
    assert prediction["score"] >= 0.95


def test_twenty_clear_sentences(embedded: inference.LoadedModel) -> None:
    predictions = inference.predict_fn({"inputs": POSITIVE + NEGATIVE}, embedded)
    got = [p["label"] for p in predictions]
    assert got == ["POSITIVE"] * len(POSITIVE) + ["NEGATIVE"] * len(NEGATIVE)


@needs_data
def test_model_card_states_the_measured_dev_accuracy() -> None:
    examples = read_tsv(SST2 / "dev.tsv")
    predicted = predict_labels(EMBEDDED_MODEL, [e.text for e in examples], "fp32")
    report = score("fp32", [("NEGATIVE", "POSITIVE")[e.label] for e in examples], predicted)
    card = (EMBEDDED_MODEL / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"SST-2 dev accuracy of this checkpoint: \*\*([0-9.]+) %\*\*", card)
    assert stated is not None
    assert float(stated.group(1)) == pytest.approx(report.accuracy * 100, abs=0.01)
