"""The ONNX Runtime artifact: the classifier exported to ONNX at packaging time, optionally int8.

``onnx-fp32`` is the exported graph as it is. ``onnx-int8`` is ONNX Runtime's dynamic int8
quantization (int8 weights per output channel, activations quantized per call) of the Linear layers;
the attention products (both operands are activations) always stay fp32. It comes in the variants of
``INT8_RECIPES``, fastest first: every layer in int8; the feed-forward Linears of the first half of
the encoder's layers kept in fp32; the whole first half kept in fp32. The packaging step gates them
in that order and ships the first that passes. Why those: on the embedded model, ranking every
Linear alone on 2,000 train.tsv sentences by mean |delta P| put the early layers' feed-forward
first. On dev, the gate measured all-int8 at 98.97 % label agreement with fp32 and the feed-forward
variant at 99.66 % (docs/benchmarks.md: the gate's output and the other rules tried).

The graph lives at ``onnx/model-<precision>.onnx`` beside the Hugging Face files, which stay: they
hold the tokenizer and config, and the PyTorch fallback when ONNX Runtime is missing. The same
variants, with the exported graph, make openvino-int8 (``openvino_export``); ``graphs.stage`` builds
either.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.code import backends


@dataclass(frozen=True)
class Int8Recipe:
    label: str
    fp32_layers: float  # fraction of the encoder's leading layers (rounded up) with Linears kept fp32
    feed_forward_only: bool = False  # in those layers, keep only the feed-forward Linears fp32


INT8_RECIPES = (  # fastest first
    Int8Recipe("every layer int8", 0.0),
    Int8Recipe("feed-forward of the first half of the layers fp32", 0.5, feed_forward_only=True),
    Int8Recipe("first half of the layers fp32", 0.5),
)
OPSET = 17
_LAYER = re.compile(r"layer\.(\d+)[./]")
# BERT's intermediate/output dense, DistilBERT's ffn lin1/lin2 (not attention/output/dense)
_FEED_FORWARD = re.compile(r"layer\.\d+/(intermediate/dense|output/dense|ffn/lin1|ffn/lin2)/")


graph_name = backends.graph_name  # the file model/code/inference.py looks for


def export(model_dir: Path, out: Path) -> Path:
    """Export the sequence classifier to ``out``: inputs input_ids, attention_mask; output logits."""
    import torch
    from transformers import AutoModelForSequenceClassification

    # Eager attention traces the padding mask as arithmetic; SDPA's fast paths would freeze the
    # example's mask shape into the graph.
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()

    class Logits(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    input_ids = torch.ones(2, 16, dtype=torch.long)
    attention_mask = torch.ones(2, 16, dtype=torch.long)
    attention_mask[1, 9:] = 0  # a padded row, so no branch on "no padding" is traced
    out.parent.mkdir(parents=True, exist_ok=True)
    dynamic = {0: "batch", 1: "sequence"}
    torch.onnx.export(
        Logits(),
        (input_ids, attention_mask),
        str(out),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "logits": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    return out


def kept_in_fp32(graph: Path, variant: Int8Recipe, products: bool = True) -> list[str]:
    """MatMul nodes int8 leaves alone: activation x activation products (unless ``products`` is False),
    and the MatMuls (or only the feed-forward ones) of the leading ``variant.fp32_layers`` fraction of
    the encoder's layers."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)
    weights = {init.name for init in model.graph.initializer}
    matmuls = [node for node in model.graph.node if node.op_type == "MatMul"]
    layers = {int(m.group(1)) for node in matmuls if (m := _LAYER.search(node.name))}
    leading = set(range(math.ceil(len(layers) * variant.fp32_layers)))
    kept = []
    for node in matmuls:
        match = _LAYER.search(node.name)
        product = not weights.intersection(node.input)  # both operands computed: attention scores, context
        in_leading = match is not None and int(match.group(1)) in leading
        if (products and product) or (
            in_leading and (not variant.feed_forward_only or _FEED_FORWARD.search(node.name))
        ):
            kept.append(node.name)
    return kept


def build(model_dir: Path, stage: Path, path: str, variant: Int8Recipe = INT8_RECIPES[0]) -> Path:
    """Write the graph for ``path`` (onnx-fp32, or onnx-int8 as ``variant``) under ``stage``; returns its file."""
    target = stage / graph_name(path)
    if path == "onnx-fp32":
        return export(model_dir, target)
    if path != "onnx-int8":
        raise ValueError(f"not an ONNX path: {path}")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = export(model_dir, stage / "build" / "model-fp32.onnx")
    target.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its advice to pre-process applies to static quantization, not this
    try:
        quantize_dynamic(
            str(fp32),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=kept_in_fp32(fp32, variant),
        )
    finally:
        root.setLevel(level)
    for leftover in fp32.parent.iterdir():
        leftover.unlink()
    fp32.parent.rmdir()
    return target
