"""What computes the logits of a call's forward passes: PyTorch (padded or packed passes), ONNX
Runtime or OpenVINO (padded passes, on the graph ``make package-model`` wrote).

Ships beside ``inference.py`` in ``code/``; onnxruntime and openvino are imported only on their variants
(installed in the archive's ``code/``, which the toolkit puts first on ``sys.path``).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification

if __package__:  # the project imports model.code.backends
    from .passes import Batch, Packed
else:  # the DLC puts code/ on sys.path and imports these files as top-level modules
    from passes import Batch, Packed  # type: ignore[no-redef]

OPENVINO_PRECISIONS = ("f32", "bf16")
OPENVINO_STREAMS = 2  # concurrent forward passes when a call has several (openvino-int8)

Logits = Callable[[list[Any]], list[torch.Tensor]]  # the logits of each pass (Batch, or Packed if packs), in order

log = logging.getLogger("sentimentpulse.inference")


def graph_name(variant: str) -> str:
    """``onnx-int8`` -> ``onnx/model-int8.onnx``: where ``make package-model`` writes the path's graph."""
    return GRAPHS[variant][0]


def find_graph(model_dir: str, variant: str) -> str | None:
    """The graph for ``variant`` when it and its runtime are both there; else None, logged."""
    graph = os.path.join(model_dir, graph_name(variant))
    runtime = GRAPHS[variant][1]
    if not os.path.isfile(graph):
        log.warning("SP_INFERENCE_VARIANT=%s but %s is missing: serving with PyTorch fp32", variant, graph)
        return None
    try:
        importlib.import_module(runtime)
    except ImportError:
        log.warning("SP_INFERENCE_VARIANT=%s but %s is not installed: serving with PyTorch fp32", variant, runtime)
        return None
    return graph


def has_graph(model_dir: str, variant: Variant) -> bool:
    """Whether ``model_dir`` holds ``variant``'s graph and its runtime is installed (quietly: for the
    automatic choice, where a missing graph is the normal case)."""
    if variant.graph is None or variant.runtime is None:
        return False
    return (
        os.path.isfile(os.path.join(model_dir, variant.graph)) and importlib.util.find_spec(variant.runtime) is not None
    )


def torch_logits(source: str, revision: str | None, dtype: torch.dtype = torch.float32) -> tuple[Logits, Any, Any]:
    model = AutoModelForSequenceClassification.from_pretrained(source, revision=revision)
    model.eval()
    if dtype != torch.float32:
        model = model.to(dtype)
    floor = torch.finfo(model.dtype).min

    def packed(batch: Packed) -> torch.Tensor:
        # A token sees the tokens of its own text; padding sees padding, so no row is all masked.
        segments = batch.segments
        blocked = (segments[:, :, None] != segments[:, None, :])[:, None]
        mask = torch.zeros(blocked.shape, dtype=model.dtype).masked_fill_(blocked, floor)
        hidden = model.distilbert(input_ids=batch.input_ids, attention_mask=mask, position_ids=batch.position_ids)
        first = hidden.last_hidden_state[batch.rows, batch.columns]  # DistilBERT's head reads the first token
        result: torch.Tensor = model.classifier(torch.relu(model.pre_classifier(first)))
        return result

    def logits(batches: list[Any]) -> list[torch.Tensor]:
        return [
            packed(b) if isinstance(b, Packed) else model(input_ids=b[0], attention_mask=b[1]).logits for b in batches
        ]

    return logits, model, model.config


def onnx_logits(graph: str, threads: int) -> tuple[Logits, Any]:
    import onnxruntime  # installed in the archive's code/ (model/packaging/runtime.py)

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def logits(batches: list[Any]) -> list[torch.Tensor]:
        return [torch.from_numpy(session.run(["logits"], _feeds(batch))[0]) for batch in batches]

    return logits, session


def openvino_logits(graph: str, threads: int) -> tuple[Logits, Any]:
    import openvino  # installed in the archive's code/, like onnxruntime

    config: dict[str, Any] = {"INFERENCE_NUM_THREADS": threads}
    precision = os.environ.get("SP_OPENVINO_PRECISION", "").strip()
    if precision and precision not in OPENVINO_PRECISIONS:
        raise ValueError(f"SP_OPENVINO_PRECISION must be unset or one of {OPENVINO_PRECISIONS}, got {precision!r}")
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    core = openvino.Core()
    model = core.read_model(graph)
    # One pass uses every thread (LATENCY); several run as OPENVINO_STREAMS concurrent passes on a
    # share of the threads each, which keeps the cores busier than one pass after another.
    compiled = core.compile_model(model, "CPU", {**config, "PERFORMANCE_HINT": "LATENCY"})
    streams = min(OPENVINO_STREAMS, threads)
    throughput = {**config, "PERFORMANCE_HINT": "THROUGHPUT", "NUM_STREAMS": streams}
    parallel = core.compile_model(model, "CPU", throughput) if streams > 1 else None
    local = threading.local()  # a request or queue is not safe to share across threads; one per call costs time

    def logits(batches: list[Any]) -> list[torch.Tensor]:
        if len(batches) == 1 or parallel is None:
            local.request = getattr(local, "request", None) or compiled.create_infer_request()
            return [torch.from_numpy(local.request.infer(_feeds(batch))[0].copy()) for batch in batches]
        local.queue = getattr(local, "queue", None) or openvino.AsyncInferQueue(parallel, streams)
        results: list[torch.Tensor] = [torch.empty(0)] * len(batches)

        def done(request: Any, index: int) -> None:
            results[index] = torch.from_numpy(request.get_output_tensor(0).data.copy())

        local.queue.set_callback(done)
        # Largest pass first, so the passes left for the end are short and neither stream idles long.
        for index in sorted(range(len(batches)), key=lambda i: -batches[i][0].numel()):
            local.queue.start_async(_feeds(batches[index]), index)
        local.queue.wait_all()
        return results

    return logits, compiled


def _feeds(batch: Batch) -> dict[str, Any]:
    return {"input_ids": batch[0].numpy(), "attention_mask": batch[1].numpy()}


@dataclass(frozen=True)
class Variant:
    """One way ``inference.py`` can compute (``SP_INFERENCE_VARIANT``): adding one is an entry here, its
    loader, and its export in model/packaging (for a graph)."""

    name: str
    batch_size: int  # texts per forward pass unless SP_MAX_BATCH_SIZE says otherwise (make bench's sweep)
    graph: str | None = None  # the file make package-model writes beside the Hugging Face files
    runtime: str | None = None  # the distribution that serves the graph, installed in the archive's code/
    load_graph: Callable[[str, int], tuple[Logits, Any]] | None = None  # (graph, threads) -> logits, backend
    dtype: torch.dtype = torch.float32  # PyTorch variants: the weights' and activations' type


# 32 texts per pass is at or near the top of make bench's sweep for every variant; openvino-int8 ran at
# least as fast at 64 in every run (docs/benchmarks.md).
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("fp32", 32),
        Variant("bf16", 32, dtype=torch.bfloat16),
        Variant("onnx-fp32", 32, "onnx/model-fp32.onnx", "onnxruntime", onnx_logits),
        Variant("onnx-int8", 32, "onnx/model-int8.onnx", "onnxruntime", onnx_logits),
        Variant("openvino-int8", 64, "openvino/model-int8.xml", "openvino", openvino_logits),
    )
}
DEFAULT_VARIANT = "fp32"  # exact, and needs nothing but the weights; the others passed the parity gate
AUTO = "auto"  # SP_INFERENCE_VARIANT's default: the fastest variant the archive holds, timed at load
# The variants served from a graph: its file in the archive, and the runtime that serves it.
GRAPHS = {v.name: (v.graph, v.runtime) for v in VARIANTS.values() if v.graph and v.runtime}
GRAPH_DIRS = frozenset(graph.split("/")[0] for graph, _ in GRAPHS.values())
