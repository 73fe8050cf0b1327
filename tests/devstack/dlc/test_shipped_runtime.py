"""A graph variant's runtime, installed in the archive's ``code/``, serves in the DLC's real serving stack
with nothing installed at start. .venv-dlc has neither runtime, so an answer on the variant can only come
from the archive."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from devstack.dlc import DLC_VENV, python_version
from devstack.expectations import SEED
from model.packaging import __main__ as packaging_cli
from model.packaging import parity
from tests.devstack.dlc.conftest import container_environment, serve, serving_log
from tests.model_code.served import TEXTS, load
from tests.model_code.served import p_positive as served_p_positive
from tests.model_code.shipped import calibration_tsv, pass_the_gate
from tests.support import Http

pytestmark = pytest.mark.dlc


def test_the_dlc_environment_has_no_graph_runtime_of_its_own() -> None:
    """What makes the tests below mean something: the image's environment cannot serve a graph by itself."""
    probe = "import importlib.util as u; print([n for n in ('openvino', 'onnxruntime') if u.find_spec(n)])"
    found = subprocess.run([str(DLC_VENV / "bin" / "python"), "-c", probe], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


@pytest.mark.timeout(900)
def test_onnx_runtime_from_the_archive_serves_with_no_install_at_start(fast_archive: Path, tmp_path: Path) -> None:
    environment = container_environment(InferenceVariant="onnx-fp32")
    assert environment["SP_INFERENCE_VARIANT"] == "onnx-fp32"
    container = serve(fast_archive, tmp_path / "dlc", environment)
    try:
        assert not container.private_env  # no code/requirements.txt: nothing for the toolkit to pip-install
        status, _, body = Http(container.url).post_json("/invocations", {"inputs": [SEED]})
        assert (status, body[0]["label"]) == (200, "POSITIVE")
        log = serving_log(container) + (tmp_path / "dlc" / "serving.log").read_text(errors="replace")
        assert "variant=onnx-fp32" in log  # ONNX Runtime from code/ serves, not the PyTorch fallback
        assert "Successfully installed" not in log
        print(json.dumps({"dlc_start_seconds_onnx_fp32": round(container.start_seconds or 0, 1)}))
    finally:
        container.stop()


@pytest.mark.timeout(900)
def test_openvino_from_the_archive_answers_as_it_does_here(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default fast variant's archive (pruned OpenVINO in code/), on a tiny model: the DLC's answers are
    this environment's openvino-int8 answers for the same folder. The gate's verdict is fixed to a pass: on
    a random tiny model it is a coin toss, and the gate is not what this tier tests."""
    pass_the_gate(monkeypatch)
    train = calibration_tsv(tmp_path / "train.tsv")
    out = tmp_path / "model.tar.gz"
    argv = ["package", "--model", str(tiny_model), "--out", str(out), "--dlc-python", python_version()]
    assert packaging_cli.main([*argv, "--parity-data", str(train), "--calibration-data", str(train)]) == 0
    extracted = tmp_path / "extracted"
    with tarfile.open(out) as archive:
        archive.extractall(extracted, filter="data")
    expected = served_p_positive(load(extracted, "openvino-int8", monkeypatch), TEXTS)
    container = serve(out, tmp_path / "dlc", container_environment(InferenceVariant="openvino-int8"))
    try:
        assert not container.private_env
        status, _, body = Http(container.url).post_json("/invocations", {"inputs": TEXTS})
        assert status == 200, body
        assert [parity.p_positive(answer) for answer in body] == pytest.approx(expected, abs=1e-3)
        assert "variant=openvino-int8" in serving_log(container)  # not the PyTorch fallback
    finally:
        container.stop()
