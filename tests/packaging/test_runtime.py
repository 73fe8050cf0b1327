"""What a graph variant's runtime brings into the archive's ``code/``: the runtime and what it needs that the
serving image lacks, pinned to this environment, less the parts of OpenVINO an endpoint never loads."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from model.packaging import runtime

pytestmark = pytest.mark.unit


def test_openvino_ships_with_its_telemetry_and_leaves_numpy_to_the_image() -> None:
    assert runtime.shipped_requirements(["openvino-int8"]) == [
        f"openvino-telemetry=={metadata.version('openvino-telemetry')}",
        f"openvino=={metadata.version('openvino')}",
    ]


def test_onnx_runtime_brings_what_transformers_does_not_require() -> None:
    shipped = {line.split("==")[0] for line in runtime.shipped_requirements(["onnx-fp32", "onnx-int8"])}
    assert "onnxruntime" in shipped and "protobuf" in shipped and "flatbuffers" in shipped
    assert not shipped & {"numpy", "packaging"}  # transformers requires both: the image has them


def test_the_image_is_known_to_have_what_transformers_and_torch_require() -> None:
    provided = runtime.image_provides()
    assert {"transformers", "torch", "numpy", "packaging", "tokenizers"} <= provided
    assert not provided & {"openvino", "onnxruntime", "protobuf"}


def test_a_requirement_behind_an_extra_is_not_followed() -> None:
    # onnxruntime's sympy and ml_dtypes are extras ("symbolic", "quantization"): not what an endpoint loads
    assert "ml-dtypes" not in {line.split("==")[0] for line in runtime.shipped_requirements(["onnx-fp32"])}


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")


def test_prune_removes_what_a_cpu_endpoint_never_loads_and_keeps_what_it_does(tmp_path: Path) -> None:
    libs = runtime.OPENVINO_LIBS
    kept = [
        f"{libs}/libopenvino.so.2641",
        f"{libs}/libopenvino_intel_cpu_plugin.so",
        f"{libs}/libopenvino_ir_frontend.so.2641",
        f"{libs}/libtbb.so.12",
        "openvino/__init__.py",
        "openvino/frontend/__init__.py",
        "openvino-2026.4.1.dist-info/METADATA",
        "onnxruntime/capi/onnxruntime_pybind11_state.so",
    ]
    pruned = [
        "bin/ovc",
        "openvino/include/openvino/core/model.hpp",
        f"{libs}/cache.json",
        f"{libs}/libopenvino_intel_gpu_plugin.so",
        f"{libs}/libopenvino_intel_npu_plugin.so",
        f"{libs}/libopenvino_onnx_frontend.so.2641",
        f"{libs}/libopenvino_tensorflow_frontend.so.2641",
    ]
    _tree(tmp_path, kept + pruned)
    removed = runtime.prune(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == sorted(pruned)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(kept)
