"""A model directory staged for a graph variant: the Hugging Face files linked, plus the graph built.

onnx-fp32 and onnx-int8 come from ``onnx_export``, openvino-int8 from ``openvino_export``. The int8
variants are built in each recipe of ``onnx_export.INT8_RECIPES``, fastest first; the packaging step
gates them in that order and ships the first that passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from model.code import backends
from model.packaging import onnx_export, openvino_export
from model.packaging.onnx_export import INT8_RECIPES, Int8Recipe

RECIPE_SWEPT = ("onnx-int8", "openvino-int8")  # the variants built in each of INT8_RECIPES


def recipes(path: str) -> tuple[Int8Recipe, ...]:
    """The int8 recipes to try for variant ``path``, fastest first (one for a variant without recipes)."""
    return INT8_RECIPES if path in RECIPE_SWEPT else INT8_RECIPES[:1]


def describe(path: str, variant: Int8Recipe) -> str:
    """``onnx-int8 (every layer int8)``; a variant without recipes is named alone."""
    return f"{path} ({variant.label})" if path in RECIPE_SWEPT else path


def link_model_files(model_dir: Path, stage_dir: Path) -> None:
    """``stage_dir`` (made here) with links to ``model_dir``'s files: not its code, graphs or dot files."""
    stage_dir.mkdir(parents=True)
    for entry in model_dir.iterdir():
        if entry.name != "code" and entry.name not in backends.GRAPH_DIRS and not entry.name.startswith("."):
            (stage_dir / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())


def stage(
    model_dir: Path,
    stage_dir: Path,
    path: str,
    variant: Int8Recipe = INT8_RECIPES[0],
    calibration: Sequence[str] = (),
) -> Path:
    """A model directory for ``path``: links to ``model_dir``'s files plus the graph; returns the graph.

    ``calibration``: train.tsv sentences, for openvino-int8's static quantization."""
    link_model_files(model_dir, stage_dir)
    if path == openvino_export.PATH:
        return openvino_export.build(model_dir, stage_dir, variant, calibration)
    return onnx_export.build(model_dir, stage_dir, path, variant)
