"""The onnx-* paths: the graph make package-model builds, how inference.py serves it, and the archive
that carries ONNX Runtime to an endpoint without internet."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import tarfile
from pathlib import Path

import pytest

from bench import dlc_start
from model.code import inference
from model.packaging import __main__ as packaging_cli
from model.packaging import graphs, onnx_export
from tests.model_code.served import TEXTS, load, p_positive
from tests.model_code.shipped import assert_runtime_installed

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def staged(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with both graphs beside its files, as the packaging step stages it."""
    stage = tmp_path_factory.mktemp("onnx") / "stage"
    graphs.stage(tiny_model, stage, "onnx-fp32")
    onnx_export.build(tiny_model, stage, "onnx-int8")
    return stage


def test_onnx_fp32_answers_like_pytorch_with_padding(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One batch of very different lengths: the exported graph must honour the padding mask."""
    torch_answers = p_positive(load(staged, "fp32", monkeypatch), TEXTS)
    onnx = load(staged, "onnx-fp32", monkeypatch)
    assert onnx.variant == "onnx-fp32"
    assert p_positive(onnx, TEXTS) == pytest.approx(torch_answers, abs=1e-5)


def test_onnx_int8_serves_through_onnx_runtime(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = load(staged, "onnx-int8", monkeypatch)
    assert loaded.variant == "onnx-int8"
    answers = inference.predict_fn({"inputs": TEXTS}, loaded)
    assert [set(a) for a in answers] == [{"label", "score"}] * len(TEXTS)
    assert all(0.5 <= a["score"] <= 1.0 for a in answers)


@pytest.mark.parametrize("variant", onnx_export.INT8_RECIPES, ids=lambda v: v.label)
def test_int8_variants_keep_attention_products_and_leading_layers_in_fp32(
    staged: Path, variant: onnx_export.Int8Recipe
) -> None:
    import onnx

    graph = staged / onnx_export.graph_name("onnx-fp32")
    kept = set(onnx_export.kept_in_fp32(graph, variant))
    weights = {i.name for i in onnx.load(str(graph), load_external_data=False).graph.initializer}
    matmuls = [n for n in onnx.load(str(graph), load_external_data=False).graph.node if n.op_type == "MatMul"]
    feed_forward = {"intermediate/dense", "layer.0/output/dense", "layer.1/output/dense", "ffn/lin1", "ffn/lin2"}
    for node in matmuls:  # the tiny model has 2 layers: with half kept, (parts of) layer 0 stay fp32
        products = not weights.intersection(node.input)
        leading = variant.fp32_layers > 0 and "layer.0/" in node.name
        if variant.feed_forward_only:
            leading = leading and any(f"{part}/" in node.name for part in feed_forward)
        assert (node.name in kept) == (products or leading), node.name
    assert any(n.name not in kept for n in matmuls)
    if variant.feed_forward_only:  # layer 0's attention Linears are int8, its feed-forward ones are not
        layer0 = [n.name for n in matmuls if "layer.0/" in n.name and weights.intersection(n.input)]
        assert any(name in kept for name in layer0) and any(name not in kept for name in layer0)


@pytest.mark.parametrize("missing", ["graph", "onnxruntime"])
def test_falls_back_to_pytorch_with_a_log_line(
    tiny_model: Path, staged: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, missing: str
) -> None:
    if missing == "onnxruntime":
        monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    model_dir = tiny_model if missing == "graph" else staged
    with caplog.at_level(logging.WARNING, logger="sentimentpulse.inference"):
        loaded = load(model_dir, "onnx-int8", monkeypatch)
    assert loaded.variant == "fp32"
    assert f"{'is missing' if missing == 'graph' else 'onnxruntime is not installed'}: serving with PyTorch fp32" in (
        caplog.text
    )


def test_archive_ships_onnx_runtime_installed_in_code(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real packaging step: ONNX Runtime installed from the package index for the DLC's Python 3.12
    into code/, where the toolkit's sys.path finds it (the dlc tier serves such an archive)."""
    data = tmp_path / "dev.tsv"
    data.write_text("sentence\tlabel\na good movie\t1\na bad movie\t0\nnot fun\t0\n", encoding="utf-8")
    out = tmp_path / "model.tar.gz"
    argv = ["package", "--model", str(tiny_model), "--out", str(out), "--variant", "onnx-fp32"]
    assert packaging_cli.main([*argv, "--parity-data", str(data)]) == 0
    printed = capsys.readouterr().out
    assert "parity onnx-fp32 vs fp32 on 3 sentences: PASS" in printed
    assert "in code/, imported as they are: no pip at start" in printed
    extracted = tmp_path / "extracted"
    with tarfile.open(out) as archive:
        names = set(archive.getnames())
        archive.extractall(extracted, filter="data")
    assert {"config.json", "model.safetensors", "onnx/model-fp32.onnx", "code/inference.py"} <= names
    # The manifest says what the archive holds and the gate's evidence for it.
    recorded = json.loads((extracted / "archive-manifest.json").read_text(encoding="utf-8"))
    assert set(recorded["variants"]) == {"fp32", "onnx-fp32"}
    (gate,) = recorded["variants"]["onnx-fp32"]["gate"]
    assert (gate["sentences"], gate["passed"], gate["label_agreement"]) == (3, True, 1.0)
    assert recorded["parity_data_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert_runtime_installed(names, "onnx-fp32")
    assert (extracted / "code" / "google" / "protobuf" / "__init__.py").is_file()  # onnxruntime needs it


def test_auto_serves_the_variant_that_ran_fastest_at_load(
    staged: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """auto (the default) times fp32 and every graph the archive holds on this CPU and keeps the fastest."""
    monkeypatch.delenv("SP_INFERENCE_VARIANT", raising=False)
    caplog.set_level(logging.INFO, logger="sentimentpulse.inference")
    measured = inference.model_fn(str(staged))  # real timings: whichever won, the log says why
    line = next(r.getMessage() for r in caplog.records if "model loaded" in r.getMessage())
    assert all(f"{name} " in line for name in ("fp32", "onnx-fp32", "onnx-int8")), line
    assert f"variant={measured.variant} (auto: fastest of" in line
    choice = dlc_start.CHOICE.search(line)  # what make bench-start reads from the DLC's log
    assert choice is not None and choice.group(1) == measured.variant
    loaded = dlc_start.LOADED.search(line)  # and the load's seconds
    assert loaded is not None and 0 < float(loaded.group(1)) < 600

    timings = {"onnx-int8": {"fp32": 0.3, "onnx-fp32": 0.2, "onnx-int8": 0.1}, "fp32": {"fp32": 0.1}}
    for fastest, seconds in timings.items():  # the choice follows the timings, not a fixed preference
        monkeypatch.setattr(inference, "_timed", lambda loaded, encoded, s=seconds: s.get(loaded.variant, 1.0))
        assert inference.model_fn(str(staged)).variant == fastest


def test_auto_candidates_take_turns_so_noise_hits_them_alike(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SP_INFERENCE_VARIANT", raising=False)
    order: list[str] = []

    def timed(loaded: inference.LoadedModel, encoded: list[list[int]]) -> float:
        order.append(loaded.variant)
        return 0.1

    monkeypatch.setattr(inference, "_timed", timed)
    inference.model_fn(str(staged))
    assert order == ["fp32", "onnx-fp32", "onnx-int8"] * inference.PROBE_ROUNDS


def test_a_runtime_that_cannot_be_installed_stops_packaging_in_one_line(
    tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No ONNX Runtime wheel exists for Python 2.7: one error line naming what and for which Python, and
    no archive (an older one is left as it was)."""
    data = tmp_path / "dev.tsv"
    data.write_text("sentence\tlabel\na good movie\t1\na bad movie\t0\n", encoding="utf-8")
    out = tmp_path / "model.tar.gz"
    out.write_bytes(b"the older archive")
    argv = ["package", "--model", str(tiny_model), "--out", str(out), "--variant", "onnx-fp32"]
    assert packaging_cli.main([*argv, "--parity-data", str(data), "--dlc-python", "2.7"]) == 2
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "error" in line.lower()]  # and progress bars
    assert line.startswith("error: could not install ") and "onnxruntime==" in line and "Python 2.7" in line
    assert out.read_bytes() == b"the older archive"
