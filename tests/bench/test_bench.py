"""The benchmark's quick mode runs end to end and reports every setup (no timing assertions). It runs on a
tiny random DistilBERT: the smoke test proves the code paths, `make bench` measures the real size."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.support import SHARED_DATA, run_in_group
from tests.tiny_model import make_tiny_model

pytestmark = pytest.mark.bench


def test_bench_quick_mode_reports_every_setup(tmp_path: Path) -> None:
    data = SHARED_DATA / "sst2" / "dev.tsv"
    train = data.with_name("train.tsv")
    if not data.is_file():
        pytest.skip(f"benchmark data not found beside the project ({SHARED_DATA})")
    config = make_tiny_model(tmp_path / "tiny")  # its config and tokenizer stand for the real model's
    result = run_in_group(
        [sys.executable, "-m", "bench", "--quick", "--data", str(data), "--train", str(train),
         "--config", str(config), "--out", str(tmp_path / "out")],
        timeout=280,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "bench.json").read_text(encoding="utf-8"))
    setups = {s["name"]: s for s in report["setups"]}
    assert {
        "pipeline per request",
        "pipeline(list, batch_size=32)",
        "predict_fn fp32",
        "predict_fn bf16",
        "predict_fn onnx-fp32",
        "predict_fn onnx-int8 (every layer int8)",
        "predict_fn onnx-int8 (first half of the layers fp32)",
        "predict_fn openvino-int8 (every layer int8)",
        "predict_fn openvino-int8 (first half of the layers fp32)",
    } <= set(setups)
    assert all(s["sentences_per_s"] > 0 and s["x_pipeline"] > 0 for s in setups.values())
    assert setups["predict_fn onnx-int8 (every layer int8)"]["latency_short"]["p50_ms"] > 0
    assert setups["predict_fn onnx-int8 (every layer int8)"]["pct_of_fp32_roof"] > 0
    assert re.fullmatch(
        r"auto: (fp32|openvino-int8) \(auto: fastest of fp32 [\d.]+ ms, openvino-int8 .*\)", report["server_path"]
    )
    assert [p["concurrency"] for p in report["server"]] == [1, 8, 32]
    assert all(p["sentences_per_s"] > 0 for p in report["server"])
    assert report["roofline"]["gemm_fp32_gflops"] > 0 and report["roofline"]["gemm_int8_gops"] > 0
    assert set(report["batch_sweep"]) == {"fp32", "onnx-int8 (every layer int8)", "openvino-int8 (every layer int8)"}
    assert all(rate > 0 for rates in report["batch_sweep"].values() for rate in rates.values())
    assert report["batch_sweep_units"]["fp32"] == "packed rows of 128 tokens"
    assert report["batch_sweep_units"]["openvino-int8 (every layer int8)"] == "texts"
    side = report["served_vs_offline"]
    assert side["concurrency"] == 32 and len(side["served"]) == len(side["offline"]) == 1
    assert side["median_ratio"] == pytest.approx(side["served"][0] / side["offline"][0])
    assert len(side["calls"]) == len(side["small_calls"]) == 1
    assert 0 < side["calls"][0] <= side["sentences"] and 0 <= side["small_calls"][0] <= side["calls"][0]
    assert all(s["worst_case_s"] > 0 for name, s in setups.items() if name.startswith("predict_fn"))
    assert report["local_stack"]["api_p50_ms"] > 0 and report["local_stack"]["server_p50_ms"] > 0
    assert report["local_stack"]["server_bare_p50_ms"] > 0
    assert report["local_stack"]["api_p99_ms"] >= report["local_stack"]["api_p50_ms"]
    assert "added_p50_ms" in report["local_stack"]
    assert report["lambda_package"]["import_ms"] > 0
    assert (tmp_path / "out" / "bench.png").stat().st_size > 1000
    assert "| predict_fn onnx-int8 (every layer int8) |" in (tmp_path / "out" / "bench.md").read_text(encoding="utf-8")
    assert "x pipeline" in result.stdout
    capacity = (tmp_path / "out" / "capacity.md").read_text(encoding="utf-8")
    assert "| onnx-int8 (every layer int8) |" in capacity and "**Autoscaling target**" in capacity
