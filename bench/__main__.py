"""make bench: inference speed of every setup, side by side, in one run.

The model is the full-size DistilBERT architecture built from the real model's config and tokenizer
(../shared/data/distilbert-sst2) with random weights: speed does not depend on the weights. Inputs
are SST-2 dev sentences. Results: a table on stdout, and bench.json, bench.md and bench.png in --out.
``--quick`` is the CI smoke mode: a few seconds of work, no timing claims.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path

import torch

from bench import budget, capacity, cold_import, measure, render, serving
from bench.results import BenchResult, Setup
from devstack.lambda_env import ROOT
from model.code import backends, inference
from model.packaging import graphs, openvino_export, shipping
from model.packaging.onnx_export import INT8_RECIPES
from model.training.data import read_tsv

SHIPPED = graphs.describe(shipping.FAST[0], INT8_RECIPES[0])  # what auto is offered beside fp32
SWEEP = ("fp32", graphs.describe("onnx-int8", INT8_RECIPES[0]), graphs.describe("openvino-int8", INT8_RECIPES[0]))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def worst_case_tokens(quick: bool) -> int:
    """The worst request the API accepts (quick mode: a smaller one, for a smoke run)."""
    return 1024 if quick else budget.MAX_REQUEST_TOKENS


def graph_models(model_dir: Path, tmp: Path, calibration: list[str]) -> dict[str, tuple[Path, str]]:
    """Setup label -> (model directory, inference path) for every graph make package-model can ship."""
    found = {"fp32": (model_dir, "fp32"), "bf16": (model_dir, "bf16")}
    for path in backends.GRAPHS:
        log(f"graphs: building {path}{', every variant' if path in graphs.RECIPE_SWEPT else ''}")
        for number, variant in enumerate(graphs.recipes(path)):
            graph = graphs.stage(model_dir, tmp / f"{path}-{number}", path, variant, calibration)
            found[graphs.describe(path, variant)] = (graph.parent.parent, path)
    return found


def offline_setups(
    model_dir: Path,
    models: dict[str, tuple[Path, str]],
    sentences: list[str],
    batch_texts: list[str],
    data: Path,
    quick: bool,
) -> list[Setup]:
    log("baselines: HF pipeline per request and on a list")
    setups = measure.pipeline_baselines(model_dir, sentences[: 8 if quick else 200])
    long_source = " ".join(sentences)[:2000]
    worst_case = measure.worst_case_texts(sentences, worst_case_tokens(quick))
    for label, (directory, path) in models.items():
        log(f"project: predict_fn {label}")
        repeats = 5 if quick else 200
        runs = 1 if quick else 3
        setups.append(
            measure.offline_variant(directory, path, batch_texts, long_source, repeats, worst_case, label, runs)
        )
    if not quick:  # the peer needs its own environment (make bench installs .venv-peer); not in CI
        log("peer: infinity-emb in .venv-peer, same model and sentences")
        found = measure.peer(model_dir, data, len(batch_texts))
        setups += [found] if found else []
        log("" if found else "peer: skipped, .venv-peer is missing (make bench installs it)")
    return setups


def run(data: Path, train: Path, config: Path, server_path: str, quick: bool) -> BenchResult:
    sentences = [e.text for e in read_tsv(data)]
    calibration = openvino_export.calibration_sample([e.text for e in read_tsv(train)], 16 if quick else 300)
    batch_texts = sentences[: 32 if quick else len(sentences)]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = measure.build_full_size_model(config, Path(tmp) / "distilbert-full")
        log(f"model: full-size DistilBERT from {config} (random weights); {len(sentences)} dev sentences")
        log("roofline, before the paths: GEMM GFLOP/s and GOP/s, FLOPs per sentence")
        roof_before = measure.roofline(model_dir, batch_texts, quick)
        models = graph_models(model_dir, Path(tmp), calibration)
        setups = offline_setups(model_dir, models, sentences, batch_texts, data, quick)
        sweep, units = {}, {}
        for label in SWEEP:
            directory, path = models[label]
            log(f"batch-size sweep: predict_fn {label}")
            units[label], sweep[label] = measure.batch_sweep(directory, path, batch_texts, quick)
        log("roofline, after the paths (the higher of the two is the ceiling)")
        roof = measure.higher_roof(roof_before, measure.roofline(model_dir, batch_texts, quick))
        result = BenchResult(
            machine={
                "cpu": platform.processor() or platform.machine(),
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
                "python": platform.python_version(),
            },
            quick=quick,
            setups=setups,
            roofline=roof,
            server_path=server_path,
            batch_sweep=sweep,
            batch_sweep_units=units,
            worst_case_tokens=worst_case_tokens(quick),
        )
        # auto serves what make package-model ships by default: fp32 and the fast graph beside it, timed
        # at load. The bench's model has random weights, so no gate can pick a recipe: the fastest is served.
        served_dir = models[SHIPPED][0] if server_path == backends.AUTO else model_dir
        log(f"local model server ({server_path}, {served_dir.name}) and local stack")
        result.server, result.served_vs_offline, result.local_stack, chosen = serving.server_and_stack(
            served_dir, server_path, sentences[: 64 if quick else 600], quick
        )
        result.server_path = f"auto: {chosen}" if server_path == backends.AUTO else server_path
    log("lambda package: zipped size and cold import time")
    result.lambda_package = cold_import.measure(quick)
    result.relate_to_baseline()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="SST-2 dev.tsv")
    parser.add_argument("--train", type=Path, required=True, help="SST-2 train.tsv (calibrates openvino-int8)")
    parser.add_argument("--config", type=Path, required=True, help="directory with the full-size config + tokenizer")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results", help="where the results go")
    parser.add_argument(
        "--path",
        choices=(backends.AUTO, *inference.VARIANT_NAMES),
        default=backends.AUTO,
        help="variant of the server/stack runs (default: auto, over what make package-model ships by default)",
    )
    parser.add_argument("--quick", action="store_true", help="CI smoke mode: tiny sizes, no timing claims")
    args = parser.parse_args(argv)
    for needed in (args.data, args.train, args.config / "config.json"):
        if not needed.exists():
            print(
                f"error: {needed} not found (pass --data/--train/--config; ../shared/data holds them)", file=sys.stderr
            )
            return 2
    result = run(args.data, args.train, args.config, args.path, args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    (args.out / "bench.md").write_text(render.markdown(result), encoding="utf-8")
    (args.out / "capacity.md").write_text(capacity.markdown(result), encoding="utf-8")
    render.chart(result, args.out / "bench.png")
    print(render.table(result))
    print(f"\nwrote bench.json, bench.md, bench.png and capacity.md in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
