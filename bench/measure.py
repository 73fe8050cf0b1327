"""Offline measurements of the model: HF pipeline baselines, each inference path through
``model/code/inference.py``, and the GEMM roof with the useful FLOPs per sentence."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from bench.results import Latency, Roofline, Setup
from devstack.client import percentile
from devstack.lambda_env import ROOT
from model.code import inference, passes

SHORT = "This product is amazing, I loved it!"
BATCH_SIZES = (8, 32, 16, 64, 128)  # the sweep: texts per pass (quick mode: the first two)
PACKED_ROWS = (4, 16, 8, 32, 64)  # where the model packs: rows per pass


def build_full_size_model(config_dir: Path, out: Path) -> Path:
    """The real model's architecture and tokenizer with random weights (speed does not depend on them)."""
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    torch.manual_seed(0)
    DistilBertForSequenceClassification(DistilBertConfig.from_pretrained(config_dir)).save_pretrained(out)
    AutoTokenizer.from_pretrained(config_dir).save_pretrained(out)
    return out


def throughput(fn: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    fn()
    return count / (time.perf_counter() - started)


def latency(fn: Callable[[], object], repeats: int) -> Latency:
    fn()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return Latency(p50_ms=percentile(samples, 50), p99_ms=percentile(samples, 99))


def pipeline_baselines(model_dir: Path, texts: list[str]) -> list[Setup]:
    from transformers import pipeline

    classifier = pipeline("text-classification", model=str(model_dir), device="cpu")
    return [
        Setup("pipeline per request", throughput(lambda: [classifier(t) for t in texts], len(texts))),
        Setup("pipeline(list, batch_size=32)", throughput(lambda: classifier(texts, batch_size=32), len(texts))),
    ]


def predict_all(loaded: inference.LoadedModel, texts: list[str]) -> None:
    inference.predict_fn({"inputs": texts, "parameters": {}}, loaded)


def worst_case_texts(sentences: list[str], tokens: int, max_length: int = 512) -> list[str]:
    """Distinct texts of dev sentences, each long enough to be truncated: ``tokens`` tokens in all."""
    assert tokens % max_length == 0
    return [" ".join(sentences[i * 50 : i * 50 + 60])[:4900] for i in range(tokens // max_length)]


def offline_variant(
    model_dir: Path,
    path: str,
    texts: list[str],
    long_source: str,
    repeats: int,
    worst_case: list[str],
    label: str,
    runs: int = 3,
) -> Setup:
    """Throughput over ``texts`` (the median of ``runs``, after one untimed run), single-request latency
    (seed sentence, 128 tokens) and the time of the ``worst_case`` request (best of two) on one path."""
    os.environ["SP_INFERENCE_VARIANT"] = path
    started = time.perf_counter()
    loaded = inference.model_fn(str(model_dir))
    cold_start = time.perf_counter() - started
    if loaded.variant != path:
        raise RuntimeError(f"{path} fell back to {loaded.variant} (see the log): not measured")
    predict_all(loaded, texts)  # warm up: every pass shape once (OpenVINO prepares kernels per new shape)
    ids = loaded.tokenizer(long_source, truncation=True, max_length=128)["input_ids"]
    text_128 = loaded.tokenizer.decode(ids[1:-1])
    return Setup(
        name=f"predict_fn {label}",
        sentences_per_s=statistics.median(
            throughput(partial(predict_all, loaded, texts), len(texts)) for _ in range(runs)
        ),
        cold_start_s=cold_start,
        latency_short=latency(partial(predict_all, loaded, [SHORT]), repeats),
        latency_128_tokens=latency(partial(predict_all, loaded, [text_128]), repeats),
        worst_case_s=min(1 / throughput(partial(predict_all, loaded, worst_case), 1) for _ in range(2)),
    )


def _gemm_rate(
    matmul: Callable[[torch.Tensor, torch.Tensor], object], a: torch.Tensor, b: torch.Tensor, repeats: int
) -> float:
    """G(FL)OP/s of ``matmul`` on two square matrices, after one untimed call."""
    matmul(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        matmul(a, b)
    return 2 * a.shape[0] ** 3 * repeats / (time.perf_counter() - started) / 1e9


def gemm_gflops(size: int = 2048, repeats: int = 10) -> float:
    return _gemm_rate(torch.matmul, torch.randn(size, size), torch.randn(size, size), repeats)


def gemm_int8_gops(size: int = 2048, repeats: int = 10) -> float:
    a = torch.randint(-128, 127, (size, size), dtype=torch.int8)
    b = torch.randint(-128, 127, (size, size), dtype=torch.int8)
    return _gemm_rate(torch._int_mm, a, b, repeats)


def batch_sweep(model_dir: Path, path: str, texts: list[str], quick: bool) -> tuple[str, dict[int, float]]:
    """Sentences/s of ``predict_fn`` over ``texts`` for each SP_MAX_BATCH_SIZE, and what it counts:
    texts per forward pass, or packed rows where the model packs (``passes.pack_rows``)."""
    os.environ["SP_INFERENCE_VARIANT"] = path
    loaded = inference.model_fn(str(model_dir))
    predict_all(loaded, texts[:64])
    sizes = (PACKED_ROWS if loaded.packs else BATCH_SIZES)[: 2 if quick else None]
    unit = f"packed rows of {passes.PACK_WIDTH} tokens" if loaded.packs else "texts"
    rates = {}
    for size in sizes:
        loaded.batch_size = size
        rates[size] = throughput(partial(predict_all, loaded, texts), len(texts))
    return unit, rates


def peer(model_dir: Path, data: Path, limit: int) -> Setup | None:
    """infinity-emb on the same model and sentences, in its own environment (.venv-peer); None if absent."""
    python = ROOT / ".venv-peer" / "bin" / "python"
    if not python.exists():
        return None
    result = subprocess.run(
        [str(python), str(ROOT / "bench" / "peer.py"), "--model", str(model_dir), "--data", str(data),
         "--limit", str(limit)],
        capture_output=True, text=True, check=False, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"the peer failed: {result.stderr.strip().splitlines()[-1:]}")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    short = Latency(p50_ms=found["short_p50_ms"], p99_ms=found["short_p99_ms"])
    return Setup(name=found["name"], sentences_per_s=found["sentences_per_s"], latency_short=short)


def flops_per_sentence(model_dir: Path, texts: list[str]) -> float:
    """Useful FLOPs (no padding): per token and layer 2*(4d^2 + 2*d*ff) for the linears + 4*L*d attention."""
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    d, ff, layers = config.dim, config.hidden_dim, config.n_layers
    total = 0.0
    for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"]:
        length = len(ids)
        total += layers * length * (2 * (4 * d * d + 2 * d * ff) + 4 * length * d)
    return total / len(texts)


def higher_roof(first: Roofline, second: Roofline) -> Roofline:
    """The ceiling is the best the GEMMs did: a neighbour's noise only ever lowers a measurement."""
    return Roofline(
        gemm_fp32_gflops=max(first.gemm_fp32_gflops, second.gemm_fp32_gflops),
        gemm_int8_gops=max(first.gemm_int8_gops, second.gemm_int8_gops),
        gflop_per_sentence=first.gflop_per_sentence,
    )


def roofline(model_dir: Path, texts: list[str], quick: bool) -> Roofline:
    return Roofline(
        gemm_fp32_gflops=gemm_gflops(1024 if quick else 2048, 3 if quick else 10),
        gemm_int8_gops=gemm_int8_gops(1024 if quick else 2048, 3 if quick else 10),
        gflop_per_sentence=flops_per_sentence(model_dir, texts) / 1e9,
    )
