"""The OpenVINO artifact: static int8 by NNCF's post-training quantization, calibrated on train.tsv.

Where onnx-int8 quantizes activations on every call, openvino-int8 fixes their scales at build time
from ``CALIBRATION_SENTENCES`` train.tsv sentences (a fixed sample). NNCF's transformer mode applies
SmoothQuant (moves activation outliers into the weights) and leaves softmax and layer norm in float;
OpenVINO runs what stays float in bf16 on CPUs with AVX512-BF16 or AMX, else in f32
(``SP_OPENVINO_PRECISION`` overrides). The variants are ``onnx_export.INT8_RECIPES``: the Linears
those keep in fp32 are left out of quantization here too. The graph is exported to ONNX first
(``onnx_export.export``), so both runtimes start from the same graph; it ships as
``openvino/model-int8.xml`` and ``.bin``.
"""

from __future__ import annotations

import logging
import os
import random
import shutil
from collections.abc import Sequence
from pathlib import Path

from model.code import backends
from model.packaging import onnx_export
from model.packaging.onnx_export import Int8Recipe

CALIBRATION_SENTENCES = 300
SEED = 0
PATH = "openvino-int8"


def calibration_sample(texts: Sequence[str], count: int = CALIBRATION_SENTENCES) -> list[str]:
    """A fixed sample of ``count`` texts (all when fewer): the same archive from the same data."""
    return random.Random(SEED).sample(list(texts), min(count, len(texts)))


def build(model_dir: Path, stage: Path, variant: Int8Recipe, calibration: Sequence[str]) -> Path:
    """Write ``openvino/model-int8.xml`` (and ``.bin``) under ``stage`` as ``variant``; returns the .xml."""
    if not calibration:
        raise ValueError(f"{PATH} needs calibration sentences (train.tsv) for its static quantization")
    # NNCF sends usage data to Google Analytics unless it runs in CI (or under pytest); NNCF_CI is the
    # switch it reads, and only when it is first imported: packaging here sends nothing.
    os.environ.setdefault("NNCF_CI", "1")
    import nncf
    import openvino
    from transformers import AutoTokenizer

    fp32 = onnx_export.export(model_dir, stage / "build" / "model-fp32.onnx")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    samples = []
    for text in calibration:
        encoded = tokenizer(text, truncation=True, max_length=512, return_tensors="np")
        samples.append({name: encoded[name].astype("int64") for name in ("input_ids", "attention_mask")})
    nncf.set_log_level(logging.WARNING)  # its INFO lines list every node left out; the progress bars stay
    quantized = nncf.quantize(
        openvino.Core().read_model(str(fp32)),
        nncf.Dataset(samples),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(samples),
        ignored_scope=nncf.IgnoredScope(names=onnx_export.kept_in_fp32(fp32, variant, products=False)),
    )
    target = stage / backends.graph_name(PATH)
    target.parent.mkdir(parents=True, exist_ok=True)
    openvino.save_model(quantized, str(target), compress_to_fp16=False)
    shutil.rmtree(fp32.parent)
    return target
