"""model/code/inference.py: the SageMaker hooks, on a real (tiny) model."""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from model.code import backends, files, inference, passes
from model.source import hub_direct_dir
from tests.model_code.served import p_positive
from tests.support import ROOT

pytestmark = pytest.mark.model


@pytest.fixture(scope="module", params=["fp32", "bf16"])  # the onnx-* paths: tests/model_code/test_onnx.py
def loaded(request: pytest.FixtureRequest, tiny_model: Path) -> Iterator[inference.LoadedModel]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SP_INFERENCE_VARIANT", request.param)
        yield inference.model_fn(str(tiny_model))


def run_hooks(loaded: inference.LoadedModel, payload: Any) -> list[dict[str, Any]]:
    data = inference.input_fn(json.dumps(payload).encode(), "application/json")
    result: list[dict[str, Any]] = json.loads(
        inference.output_fn(inference.predict_fn(data, loaded), "application/json")
    )
    return result


def assert_predictions(result: list[dict[str, Any]], count: int) -> None:
    assert len(result) == count
    for item in result:
        assert set(item) == {"label", "score"}
        assert item["label"] in {"POSITIVE", "NEGATIVE"}
        assert 0.5 <= item["score"] <= 1.0  # the winning class of two


def test_single_text(loaded: inference.LoadedModel) -> None:
    assert_predictions(run_hooks(loaded, {"inputs": "a good movie"}), 1)


def test_batch_keeps_input_order(loaded: inference.LoadedModel) -> None:
    texts = ["good", "the movie was not fun and boring " * 5, "bad", "great great great"]
    batch = run_hooks(loaded, {"inputs": texts, "parameters": {"truncation": True}})
    assert_predictions(batch, len(texts))
    one_by_one = [run_hooks(loaded, {"inputs": t})[0] for t in texts]
    # fp32 is batch-independent; bf16 rounds differently with the padded width, so scores may move a little.
    tolerance = 1e-5 if loaded.variant == "fp32" else 0.05
    for got, alone in zip(batch, one_by_one, strict=True):
        assert got["score"] == pytest.approx(alone["score"], abs=tolerance)
        if abs(alone["score"] - 0.5) > tolerance:
            assert got["label"] == alone["label"]


def test_batches_smaller_than_the_input(loaded: inference.LoadedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loaded, "batch_size", 2)
    texts = [f"good {'movie ' * i}" for i in range(7)]
    assert_predictions(run_hooks(loaded, {"inputs": texts}), 7)


@pytest.mark.parametrize(
    ("lengths", "batch_size", "expected"),
    [
        ([9, 9, 9, 9, 9], 2, [[0, 1], [2, 3], [4]]),  # equal lengths: only the cap cuts
        ([5, 60, 6, 5, 7, 58], 32, [[0, 3, 2, 4], [5, 1]]),  # a long text does not pad the short ones
        ([10, 11, 12, 13, 14, 15, 16], 32, [[0, 1, 2, 3, 4, 5, 6]]),  # close lengths share one pass
        ([], 32, []),
    ],
)
def test_length_batches_cap_the_size_and_the_padding(
    lengths: list[int], batch_size: int, expected: list[list[int]]
) -> None:
    batches = passes.length_batches(lengths, batch_size)
    assert batches == expected
    for batch in batches:
        width = max(lengths[i] for i in batch)
        padding = sum(width - lengths[i] for i in batch)
        assert padding <= passes.MAX_PADDING * width * len(batch)


@pytest.mark.parametrize(
    ("lengths", "width", "expected"),
    [
        ([50, 80, 40, 70], 128, [[1, 2], [3, 0]]),  # longest first, each into the first row with room
        ([200, 10, 190], 128, [[0], [2, 1]]),  # a text longer than the width widens every row to it
        ([5] * 30, 128, [list(range(25)), list(range(25, 30))]),
        ([7], 128, [[0]]),
        ([], 128, []),
    ],
)
def test_pack_rows_fill_rows_first_fit_decreasing(lengths: list[int], width: int, expected: list[list[int]]) -> None:
    rows = passes.pack_rows(lengths, width)
    assert rows == expected
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in row) <= max([width, *lengths]) for row in rows)


TEXTS_OF_ALL_LENGTHS = ["good", "bad movie", "the movie was not fun and boring " * 30, "great " * 40, "awful", "a"]


def alone(loaded: inference.LoadedModel, texts: list[str]) -> list[float]:
    """P(POSITIVE) of each text in a forward pass of its own, through the Hugging Face model itself."""
    model = loaded.backend
    scores = []
    for text in texts:
        with torch.inference_mode():
            logits = model(**loaded.tokenizer(text, return_tensors="pt", truncation=True)).logits
        scores.append(float(torch.softmax(logits.float(), dim=-1)[0, 1]))
    return scores


def test_packed_passes_answer_as_each_text_alone(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """PyTorch DistilBERT packs several texts per row (each attending to itself, with its own
    positions): the answers are those of each text alone, across rows, passes and a 200-token text."""
    monkeypatch.setenv("SP_INFERENCE_VARIANT", "fp32")
    loaded = inference.model_fn(str(tiny_model))
    assert loaded.packs and loaded.batch_size == inference.PACKED_ROWS
    texts = TEXTS_OF_ALL_LENGTHS * 5
    encoded = inference.encode(loaded, texts)
    order, batch = passes.pack(encoded, [[0, 1, 4], [2]], 0)
    assert order == [0, 1, 4, 2] and isinstance(batch, passes.Packed) and batch.input_ids.shape[0] == 2
    assert not isinstance(passes.pack(encoded, [[2], [0]], 0)[1], passes.Packed)  # one text per row: padded
    for rows in (1, 2, inference.PACKED_ROWS):
        monkeypatch.setattr(loaded, "batch_size", rows)
        got = p_positive(loaded, texts)
        assert got == pytest.approx(alone(loaded, texts), abs=1e-5)


def test_other_encoders_run_padded_passes(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Packing needs DistilBERT's positions and head; another architecture runs padded passes."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )  # fmt: skip
    BertForSequenceClassification(config).save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(tmp_path)
    monkeypatch.setenv("SP_INFERENCE_VARIANT", "fp32")
    loaded = inference.model_fn(str(tmp_path))
    assert not loaded.packs and loaded.batch_size == backends.VARIANTS["fp32"].batch_size
    got = p_positive(loaded, TEXTS_OF_ALL_LENGTHS)
    assert got == pytest.approx(alone(loaded, TEXTS_OF_ALL_LENGTHS), abs=1e-5)


def test_empty_batch(loaded: inference.LoadedModel) -> None:
    assert run_hooks(loaded, {"inputs": []}) == []


def test_text_longer_than_512_tokens_is_truncated(loaded: inference.LoadedModel) -> None:
    assert loaded.max_length == 512
    assert_predictions(run_hooks(loaded, {"inputs": ["good movie " * 600]}), 1)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'["a"]', "application/json"),
        (b'{"text": "a"}', "application/json"),
        (b'{"inputs": 3}', "application/json"),
        (b'{"inputs": ["a", 3]}', "application/json"),
        (b'{"inputs": "a", "parameters": []}', "application/json"),
        (b'{"inputs": "a"}', "text/csv"),
    ],
)
def test_bad_payloads_are_client_errors(body: bytes, content_type: str) -> None:
    with pytest.raises(inference.InputError, match=f"^{inference.BAD_INPUT}: "):
        inference.input_fn(body, content_type)


def test_model_failures_are_distinguishable(loaded: inference.LoadedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("CUDA out of memory at /opt/ml/model/secret.py")

    monkeypatch.setattr(loaded, "model", broken)
    with pytest.raises(inference.ModelFailure, match=f"^{inference.MODEL_FAILURE}: RuntimeError$"):
        inference.predict_fn({"inputs": ["good"]}, loaded)


def test_bad_settings_fail_at_load(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_INFERENCE_VARIANT", "fp8")
    with pytest.raises(ValueError, match="SP_INFERENCE_VARIANT"):
        inference.model_fn(str(tiny_model))
    monkeypatch.setenv("SP_INFERENCE_VARIANT", "fp32")
    monkeypatch.setenv("SP_MAX_BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="SP_MAX_BATCH_SIZE"):
        inference.model_fn(str(tiny_model))


def test_code_imports_only_stdlib_torch_transformers_and_itself() -> None:
    siblings = {name.removesuffix(".py") for name in files.MODULES}
    assert siblings == {p.stem for p in (ROOT / "model" / "code").glob("*.py")} - {"__init__"}
    modules = set()
    for name in files.MODULES:
        tree = ast.parse((ROOT / "model" / "code" / name).read_text(encoding="utf-8"))
        modules |= {
            ((node.module or "") if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.level == 0)
            for alias in node.names
        }
    modules.discard("__future__")
    # onnxruntime and openvino are imported only on their paths, from the wheels the archive ships;
    # the siblings by name where the DLC imports code/ as top-level modules.
    expected = {"torch", "transformers", "onnxruntime", "openvino"} | siblings - {"inference"}
    assert modules - set(sys.stdlib_module_names) == expected


def test_error_code_matches_the_lambda_adapter() -> None:
    from handler.model_wire import BAD_INPUT_CODE, OVER_BUDGET_CODE

    assert inference.BAD_INPUT == BAD_INPUT_CODE
    assert inference.OVER_BUDGET == OVER_BUDGET_CODE


def test_code_dir_loads_as_the_dlc_imports_it(tiny_model: Path, tmp_path: Path) -> None:
    """The HF toolkit puts /opt/ml/model/code on sys.path and imports ``inference`` as a top-level
    module: from the code-only archive alone, its sibling modules load and the hooks answer."""
    code = hub_direct_dir() / "code"
    probe = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import inference; "
        "assert not inference.__package__ and inference.backends.__name__ == 'backends'; "
        "loaded = inference.model_fn(sys.argv[2]); "
        "print(json.dumps(inference.predict_fn({'inputs': ['good movie', 'bad']}, loaded)))"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "SP_INFERENCE_VARIANT"}}
    result = subprocess.run(
        [sys.executable, "-c", probe, str(code), str(tiny_model)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SP_INFERENCE_VARIANT", raising=False)
        here = inference.predict_fn({"inputs": ["good movie", "bad"]}, inference.model_fn(str(tiny_model)))
    assert [a["label"] for a in answers] == [h["label"] for h in here]
    assert [a["score"] for a in answers] == pytest.approx([h["score"] for h in here], abs=1e-6)


def test_one_model_fn_for_archive_weights_and_hub_weights(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Hub-direct endpoints: /opt/ml/model holds only code/, and HF_MODEL_ID names the weights. Offline,
    HF_MODEL_ID points at a local directory (from_pretrained reads a path the way it reads a Hub id)."""
    code_only = hub_direct_dir()
    shipped = sorted(p.relative_to(code_only).as_posix() for p in code_only.rglob("*") if p.is_file())
    assert shipped == sorted(f"code/{name}" for name in files.MODULES)
    assert "code/inference.py" in shipped
    monkeypatch.delenv("HF_MODEL_ID", raising=False)
    with pytest.raises(ValueError, match="HF_MODEL_ID is not set"):
        inference.model_fn(str(code_only))
    monkeypatch.setenv("HF_MODEL_ID", str(tiny_model))
    monkeypatch.delenv("SP_INFERENCE_VARIANT", raising=False)  # the default: auto
    caplog.set_level(logging.INFO, logger="sentimentpulse.inference")
    from_hub = inference.model_fn(str(code_only))
    from_archive = inference.model_fn(str(tiny_model))  # weights in the archive win over HF_MODEL_ID
    texts = {"inputs": ["good movie", "bad"]}
    assert inference.predict_fn(texts, from_hub) == inference.predict_fn(texts, from_archive)
    code = Path(inference.__file__).parent
    digest = hashlib.sha256(b"".join((code / n).read_bytes() for n in files.MODULES))
    assert f"code sha256={digest.hexdigest()[:12]} model=sha256:" in caplog.text
    assert "variant=fp32 (auto: the archive holds no graph variant)" in caplog.text
