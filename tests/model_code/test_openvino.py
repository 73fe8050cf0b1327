"""The openvino-int8 path: NNCF's static int8 graph make package-model builds, how inference.py serves
it, the parity gate's two precisions, and the archive that carries OpenVINO to an isolated endpoint."""

from __future__ import annotations

import json
import logging
import sys
import tarfile
from pathlib import Path

import pytest

from model.code import backends, inference
from model.packaging import __main__ as packaging_cli
from model.packaging import graphs, onnx_export, openvino_export, parity, runtime
from tests.model_code import shipped
from tests.model_code.served import TEXTS, load, p_positive
from tests.model_code.shipped import CALIBRATION, assert_runtime_installed

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def staged(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with its openvino-int8 graph (every layer int8) beside its files."""
    stage = tmp_path_factory.mktemp("openvino") / "stage"
    graphs.stage(tiny_model, stage, "openvino-int8", calibration=CALIBRATION)
    return stage


def test_serves_through_openvino_close_to_pytorch(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Padded batches of very different lengths, in input order, near fp32 (the tiny model's int8 error)."""
    reference = p_positive(load(staged, "fp32", monkeypatch), TEXTS)
    loaded = load(staged, "openvino-int8", monkeypatch)
    assert loaded.variant == "openvino-int8"
    assert (staged / "openvino" / "model-int8.bin").is_file()
    assert p_positive(loaded, TEXTS) == pytest.approx(reference, abs=0.05)
    alone = [p_positive(loaded, [text])[0] for text in TEXTS]  # each text alone: static scales, same answer
    assert alone == pytest.approx(p_positive(loaded, TEXTS), abs=1e-3)


def test_several_passes_run_concurrently_with_the_same_answers(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One text per pass: five passes go through the streams' queue and come back in input order."""
    loaded = load(staged, "openvino-int8", monkeypatch)
    one_call = p_positive(loaded, TEXTS)
    loaded.batch_size = 1
    assert p_positive(loaded, TEXTS) == pytest.approx(one_call, abs=1e-4)
    assert p_positive(loaded, TEXTS[::-1]) == pytest.approx(one_call[::-1], abs=1e-4)
    monkeypatch.setenv("SP_NUM_THREADS", "1")  # one thread: no streams, the passes run one after another
    single = load(staged, "openvino-int8", monkeypatch)
    single.batch_size = 1
    assert p_positive(single, TEXTS) == pytest.approx(one_call, abs=1e-4)


def test_pass_size_defaults_per_served_path(
    tiny_model: Path, staged: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """64 texts per pass on openvino-int8 (make bench's sweep); the fp32 that serves when the graph is
    missing packs PACKED_ROWS rows per pass; SP_MAX_BATCH_SIZE overrides both."""
    assert load(staged, "openvino-int8", monkeypatch).batch_size == backends.VARIANTS["openvino-int8"].batch_size == 64
    with caplog.at_level(logging.WARNING, logger="sentimentpulse.inference"):
        fallback = load(tiny_model, "openvino-int8", monkeypatch)
    assert (fallback.variant, fallback.batch_size) == ("fp32", inference.PACKED_ROWS)
    monkeypatch.setenv("SP_MAX_BATCH_SIZE", "8")
    assert load(staged, "openvino-int8", monkeypatch).batch_size == 8


def test_precision_setting_is_applied_and_checked(staged: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_OPENVINO_PRECISION", "f32")
    assert parity.served_precision(load(staged, "openvino-int8", monkeypatch)) == "f32"
    monkeypatch.setenv("SP_OPENVINO_PRECISION", "fp16")
    with pytest.raises(ValueError, match="SP_OPENVINO_PRECISION must be unset or one of"):
        load(staged, "openvino-int8", monkeypatch)


@pytest.mark.parametrize("variant", onnx_export.INT8_RECIPES, ids=lambda v: v.label)
def test_variants_quantize_every_weight_matmul_but_the_kept_ones(
    tiny_model: Path, tmp_path: Path, variant: onnx_export.Int8Recipe
) -> None:
    """A MatMul is int8 when a FakeQuantize feeds it; the kept ones (as onnx-int8 keeps them) are not."""
    import openvino

    graph = graphs.stage(tiny_model, tmp_path / "stage", "openvino-int8", variant, CALIBRATION)
    fp32 = onnx_export.export(tiny_model, tmp_path / "fp32.onnx")
    kept = set(onnx_export.kept_in_fp32(fp32, variant, products=False))
    products = set(onnx_export.kept_in_fp32(fp32, onnx_export.INT8_RECIPES[0])) - kept
    quantized = {}
    for op in openvino.Core().read_model(str(graph)).get_ops():
        if op.get_type_name() == "MatMul":
            quantized[op.get_friendly_name()] = op.input_value(0).get_node().get_type_name() == "FakeQuantize"
    weight_matmuls = set(quantized) - products
    assert {name for name in weight_matmuls if quantized[name]} == weight_matmuls - kept
    assert kept <= weight_matmuls and (variant.fp32_layers == 0) == (not kept)


def test_calibration_is_required(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs calibration sentences"):
        graphs.stage(tiny_model, tmp_path / "stage", "openvino-int8")


def test_calibration_sample_is_fixed_and_bounded() -> None:
    texts = [f"sentence {i}" for i in range(1000)]
    sample = openvino_export.calibration_sample(texts)
    assert sample == openvino_export.calibration_sample(texts)
    assert len(sample) == openvino_export.CALIBRATION_SENTENCES == len(set(sample))
    assert openvino_export.calibration_sample(texts[:5]) == openvino_export.calibration_sample(texts[:5], 5)


def test_falls_back_to_pytorch_when_openvino_is_missing(
    staged: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # import fails as if not installed
    with caplog.at_level(logging.WARNING, logger="sentimentpulse.inference"):
        loaded = load(staged, "openvino-int8", monkeypatch)
    assert loaded.variant == "fp32"
    assert "openvino is not installed: serving with PyTorch fp32" in caplog.text


def test_cli_needs_calibration_data(tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["package", "--model", str(tiny_model), "--out", str(tmp_path / "m.tar.gz")]
    argv += ["--variant", "openvino-int8", "--parity-data", str(tmp_path / "dev.tsv")]
    assert packaging_cli.main(argv) == 2
    assert "needs --calibration-data (SST-2 train.tsv)" in capsys.readouterr().err
    assert not (tmp_path / "m.tar.gz").exists()


def test_gate_checks_each_precision_an_endpoint_may_run(staged: Path, tmp_path: Path) -> None:
    """f32 always; and OpenVINO's own choice when it is not f32 (bf16 on CPUs with AVX512-BF16 or AMX)."""
    dev = tmp_path / "dev.tsv"
    dev.write_text("sentence\tlabel\na good movie\t1\na bad movie\t0\nnot fun\t0\n", encoding="utf-8")
    results = parity.check(staged, "openvino-int8", dev)
    labels = [r.path for r in results]
    assert labels[-1] == "openvino-int8 (f32)" and len(labels) == len(set(labels)) in (1, 2)
    assert all(r.examples == 3 and 0 <= r.max_delta_p < 0.2 for r in results)


def test_archive_ships_openvino_installed_in_code(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real packaging step: NNCF on train-like sentences, OpenVINO installed from the package index for
    the DLC's Python 3.12 into code/, less what a CPU endpoint never loads. The gate's verdict is fixed to a pass here:
    on a random tiny model it is a coin toss (the gate itself is tested above and in test_parity)."""
    shipped.pass_the_gate(monkeypatch)
    dev, train = tmp_path / "dev.tsv", shipped.calibration_tsv(tmp_path / "train.tsv")
    out = tmp_path / "model.tar.gz"
    argv = ["package", "--model", str(tiny_model), "--out", str(out)]  # the default: --variant auto
    assert packaging_cli.main([*argv, "--parity-data", str(dev), "--calibration-data", str(train)]) == 0
    printed = capsys.readouterr().out
    assert "graph:   building openvino-int8 (every layer int8) for openvino" in printed
    assert "variants: fp32, openvino-int8 (SP_INFERENCE_VARIANT=auto)" in printed
    assert "in code/, imported as they are: no pip at start" in printed
    with tarfile.open(out) as archive:
        names = set(archive.getnames())
    assert {"openvino/model-int8.xml", "openvino/model-int8.bin", "model.safetensors", "code/inference.py"} <= names
    assert not any(name.startswith("onnx/") for name in names)
    assert_runtime_installed(names, "openvino-int8")
    libs = {
        n.removeprefix(f"code/{runtime.OPENVINO_LIBS}/")
        for n in names
        if n.startswith(f"code/{runtime.OPENVINO_LIBS}/")
    }
    assert "libopenvino_intel_cpu_plugin.so" in libs and any(n.startswith("libopenvino_ir_frontend.so") for n in libs)
    assert not {name for name in libs if "gpu" in name or "npu" in name or "onnx_frontend" in name}
    with tarfile.open(out) as archive:
        recorded = json.load(archive.extractfile("archive-manifest.json"))  # type: ignore[arg-type]
    assert set(recorded["variants"]) == {"fp32", "openvino-int8"}
    assert recorded["variants"]["openvino-int8"]["recipe"] == "openvino-int8 (every layer int8)"
    assert recorded["calibration"]["sentences"] == len(CALIBRATION)


def test_default_ships_fp32_alone_and_says_so_when_no_recipe_passes(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = parity.Parity("openvino-int8 (f32)", 3, 0.9, 0.5, 0.4, 0.3)
    monkeypatch.setattr(parity, "check", lambda model, path, data: [failing])
    dev, train = tmp_path / "dev.tsv", shipped.calibration_tsv(tmp_path / "train.tsv")
    out = tmp_path / "model.tar.gz"
    argv = ["package", "--model", str(tiny_model), "--out", str(out), "--parity-data", str(dev)]
    assert packaging_cli.main([*argv, "--calibration-data", str(train), "--no-load-check"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("graph:   building openvino-int8") == len(graphs.recipes("openvino-int8"))
    assert "WARNING: no fast variant passed the parity gate (openvino-int8" in captured.err
    assert "variants: fp32 (SP_INFERENCE_VARIANT=auto)" in captured.out
    with tarfile.open(out) as archive:
        names = set(archive.getnames())
    assert "model.safetensors" in names and not any(n.startswith(("openvino/", "code/openvino/")) for n in names)
    assert not shipped.installed(names)
