"""make bench: inference speed of every setup, side by side, in one run.

The model is the full-size DistilBERT architecture built from the real model's config and tokenizer
(../shared/data/distilbert-sst2) with random weights: speed does not depend on the weights. Inputs
are SST-2 dev sentences. Results: a table on stdout, bench-results/bench.json and bench-results/bench.png.
``--quick`` is the CI smoke mode: a few seconds of work, no timing claims.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import torch

from model.code import inference
from model.local.stack import LocalStack, free_port
from model.training.data import read_tsv

ROOT = Path(__file__).resolve().parent.parent.parent
SHORT = "This product is amazing, I loved it!"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_full_size_model(config_dir: Path, out: Path) -> Path:
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    torch.manual_seed(0)
    config = DistilBertConfig.from_pretrained(config_dir)
    DistilBertForSequenceClassification(config).save_pretrained(out)
    AutoTokenizer.from_pretrained(config_dir).save_pretrained(out)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def load(model_dir: Path, path: str) -> inference.LoadedModel:
    os.environ["SP_INFERENCE_PATH"] = path
    started = time.perf_counter()
    loaded = inference.model_fn(str(model_dir))
    loaded.load_seconds = time.perf_counter() - started
    return loaded


def throughput(fn: Callable[[], object], count: int) -> float:
    started = time.perf_counter()
    fn()
    return count / (time.perf_counter() - started)


def predict_all(loaded: inference.LoadedModel, texts: list[str]) -> None:
    inference.predict_fn({"inputs": texts, "parameters": {}}, loaded)


def latency_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50), percentile(samples, 99)


def gemm_gflops(size: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.matmul(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.matmul(a, b)
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


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


def post(url: str, payload: dict[str, Any]) -> bytes:
    request = urllib.request.Request(  # noqa: S310 - loopback benchmark URL
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
        data: bytes = response.read()
        return data


def concurrent_throughput(url: str, texts: list[str], concurrency: int, key: str) -> float:
    def one(text: str) -> None:
        post(url, {key: text} if key == "text" else {key: [text]})

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, texts[: concurrency * 2]))  # warm up
        started = time.perf_counter()
        list(pool.map(one, texts))
        return len(texts) / (time.perf_counter() - started)


def lambda_package(quick: bool) -> dict[str, Any]:
    """Zipped size of the built function and cold import time of handler.app (fresh interpreter)."""
    result: dict[str, Any] = {}
    env_vars = json.loads((ROOT / "events" / "env.json").read_text(encoding="utf-8"))["PredictFunction"]
    env = {**os.environ, **env_vars, "POWERTOOLS_TRACE_DISABLED": "true"}
    code = "import time; t=time.perf_counter(); import handler.app; print(time.perf_counter()-t)"
    # The import is timed with this venv's Python and the same pinned handler dependencies (the
    # built package holds python3.13 wheels and no boto3, which the Lambda runtime provides).
    python, import_env = sys.executable, env
    with tempfile.TemporaryDirectory() as tmp:
        if not quick:
            artifacts = Path(tmp) / "fn"
            subprocess.run(
                ["make", "-s", "-C", "src/handler", "build-PredictFunction", f"ARTIFACTS_DIR={artifacts}",
                 f"PYTHON={sys.executable}"],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            zipped = Path(tmp) / "fn.zip"
            with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(artifacts.rglob("*")):
                    archive.write(path, path.relative_to(artifacts))
            result["zip_mb"] = zipped.stat().st_size / 1e6
        runs = []
        for _ in range(1 if quick else 7):
            out = subprocess.run([python, "-c", code], env=import_env, capture_output=True, text=True, check=True)
            runs.append(float(out.stdout.strip()) * 1000)
        result["import_ms"] = statistics.median(runs)
        result["import_python"] = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    return result


def run(args: argparse.Namespace) -> dict[str, Any]:
    quick: bool = args.quick
    sentences = [e.text for e in read_tsv(args.data)]
    n_pipe = 8 if quick else 200
    n_batch = 32 if quick else len(sentences)
    results: dict[str, Any] = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "quick": quick,
        "setups": {},
    }
    setups: dict[str, dict[str, Any]] = results["setups"]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_full_size_model(args.config, Path(tmp) / "distilbert-full")
        log(f"model: full-size DistilBERT from {args.config} (random weights); {len(sentences)} dev sentences")

        from transformers import pipeline

        classifier = pipeline("text-classification", model=str(model_dir), device="cpu")
        pipe_texts = sentences[:n_pipe]
        log("baseline: pipeline per request")
        setups["pipeline per request"] = {
            "sentences_per_s": throughput(lambda: [classifier(t) for t in pipe_texts], len(pipe_texts))
        }
        log("baseline: pipeline(list, batch_size=32)")
        setups["pipeline(list, batch_size=32)"] = {
            "sentences_per_s": throughput(lambda: classifier(pipe_texts, batch_size=32), len(pipe_texts))
        }

        batch_texts = sentences[:n_batch]
        loaded_paths = {}
        for path in inference.INFERENCE_PATHS:
            log(f"project: predict_fn {path}")
            loaded = load(model_dir, path)
            loaded_paths[path] = loaded
            predict_all(loaded, batch_texts[:64])  # warm up
            setup: dict[str, Any] = {
                "sentences_per_s": throughput(partial(predict_all, loaded, batch_texts), len(batch_texts)),
                "cold_start_s": loaded.load_seconds,
            }
            long_text = " ".join(sentences)[:2000]
            for name, text in (("short", SHORT), ("128 tokens", long_text)):
                ids = loaded.tokenizer(text, truncation=True, max_length=128)["input_ids"]
                text_128 = loaded.tokenizer.decode(ids[1:-1]) if name != "short" else text
                p50, p99 = latency_ms(partial(predict_all, loaded, [text_128]), 5 if quick else 200)
                setup[f"latency_{name}_p50_ms"], setup[f"latency_{name}_p99_ms"] = p50, p99
            setups[f"predict_fn {path}"] = setup

        log("roofline: GEMM GFLOP/s and FLOPs per sentence")
        roof = gemm_gflops(1024 if quick else 2048, 3 if quick else 10)
        per_sentence = flops_per_sentence(model_dir, batch_texts)
        results["roofline"] = {"gemm_fp32_gflops": roof, "gflop_per_sentence": per_sentence / 1e9}
        for path in inference.INFERENCE_PATHS:
            achieved = setups[f"predict_fn {path}"]["sentences_per_s"] * per_sentence / 1e9
            setups[f"predict_fn {path}"]["achieved_gflops"] = achieved
            setups[f"predict_fn {path}"]["pct_of_fp32_roof"] = 100 * achieved / roof
        default_path = args.path
        direct_p50 = setups[f"predict_fn {default_path}"]["latency_short_p50_ms"]
        loaded_paths.clear()

        log(f"local model server ({default_path}) and local stack")
        os.environ["SP_INFERENCE_PATH"] = default_path
        with open(os.devnull, "wb") as devnull:
            stack = LocalStack(
                model=str(model_dir), api_port=free_port(), model_port=free_port(), concurrency=2, log=devnull
            )
            stack.start()
            try:
                server_texts = sentences[: (64 if quick else 600)]
                server: dict[str, Any] = {}
                for concurrency in (1, 8, 32):
                    server[f"c{concurrency}_sentences_per_s"] = concurrent_throughput(
                        f"{stack.model_url}/invocations", server_texts, concurrency, "inputs"
                    )
                setups[f"local model server {default_path}"] = server
                samples = []
                for _ in range(10 if quick else 200):
                    started = time.perf_counter()
                    post(f"{stack.api_url}/predict", {"text": SHORT})
                    samples.append((time.perf_counter() - started) * 1000)
                stack_p50 = percentile(samples, 50)
                results["local_stack"] = {
                    "api_p50_ms": stack_p50,
                    "direct_predict_fn_p50_ms": direct_p50,
                    "added_p50_ms": stack_p50 - direct_p50,
                }
            finally:
                stack.stop()

    log("lambda package: zipped size and cold import time")
    results["lambda"] = lambda_package(quick)
    base = setups["pipeline per request"]["sentences_per_s"]
    for setup in setups.values():
        for key in [k for k in setup if k.endswith("sentences_per_s")]:
            setup[key.replace("sentences_per_s", "x_pipeline")] = setup[key] / base
    return results


def table(results: dict[str, Any]) -> str:
    lines = [
        f"{'setup':<34} {'sent/s':>9} {'x pipeline':>10} {'short p50/p99 ms':>17} {'128-tok p50/p99 ms':>19}",
        "-" * 93,
    ]
    for name, setup in results["setups"].items():
        if "sentences_per_s" not in setup:
            continue
        short = long = ""
        if "latency_short_p50_ms" in setup:
            short = f"{setup['latency_short_p50_ms']:.1f}/{setup['latency_short_p99_ms']:.1f}"
            long = f"{setup['latency_128 tokens_p50_ms']:.1f}/{setup['latency_128 tokens_p99_ms']:.1f}"
        lines.append(f"{name:<34} {setup['sentences_per_s']:>9.1f} {setup['x_pipeline']:>10.2f} {short:>17} {long:>19}")
    for name, setup in results["setups"].items():
        if name.startswith("local model server"):
            for c in (1, 8, 32):
                label = f"{name} @ concurrency {c}"
                lines.append(f"{label:<34} {setup[f'c{c}_sentences_per_s']:>9.1f} {setup[f'c{c}_x_pipeline']:>10.2f}")
    roof = results["roofline"]
    lines.append("")
    lines.append(
        f"roofline: fp32 GEMM {roof['gemm_fp32_gflops']:.0f} GFLOP/s, {roof['gflop_per_sentence']:.2f} GFLOP/sentence"
    )
    for name, setup in results["setups"].items():
        if "pct_of_fp32_roof" in setup:
            lines.append(
                f"  {name}: {setup['achieved_gflops']:.0f} GFLOP/s = {setup['pct_of_fp32_roof']:.0f} % of the fp32 roof"
            )
    for name, setup in results["setups"].items():
        if "cold_start_s" in setup:
            lines.append(f"  {name}: model_fn cold start {setup['cold_start_s']:.2f} s")
    stack = results["local_stack"]
    lines.append(
        f"local stack: API p50 {stack['api_p50_ms']:.2f} ms vs direct predict_fn "
        f"{stack['direct_predict_fn_p50_ms']:.2f} ms -> {stack['added_p50_ms']:.2f} ms added"
    )
    lam = results["lambda"]
    size = f"zip {lam['zip_mb']:.2f} MB, " if "zip_mb" in lam else ""
    lines.append(f"lambda: {size}cold import of handler.app {lam['import_ms']:.0f} ms (Python {lam['import_python']})")
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    """The same figures as `table`, as Markdown (docs/benchmarks.md is made from this)."""
    setups = results["setups"]
    lines = [
        "| setup | sentences/s | x pipeline per request | short p50 / p99 ms | 128-token p50 / p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, setup in setups.items():
        if "sentences_per_s" in setup:
            short = long = ""
            if "latency_short_p50_ms" in setup:
                short = f"{setup['latency_short_p50_ms']:.1f} / {setup['latency_short_p99_ms']:.1f}"
                long = f"{setup['latency_128 tokens_p50_ms']:.1f} / {setup['latency_128 tokens_p99_ms']:.1f}"
            lines.append(f"| {name} | {setup['sentences_per_s']:.1f} | {setup['x_pipeline']:.2f} | {short} | {long} |")
        for c in (1, 8, 32):
            if f"c{c}_sentences_per_s" in setup:
                rate, ratio = setup[f"c{c}_sentences_per_s"], setup[f"c{c}_x_pipeline"]
                lines.append(f"| {name}, concurrency {c} | {rate:.1f} | {ratio:.2f} | | |")
    roof, stack, lam = results["roofline"], results["local_stack"], results["lambda"]
    lines += [
        "",
        f"- fp32 GEMM roof: {roof['gemm_fp32_gflops']:.0f} GFLOP/s; useful work: {roof['gflop_per_sentence']:.2f}"
        " GFLOP per dev sentence",
    ]
    for name, setup in setups.items():
        if "pct_of_fp32_roof" in setup:
            lines.append(
                f"- {name}: {setup['achieved_gflops']:.0f} GFLOP/s "
                f"({setup['pct_of_fp32_roof']:.0f} % of the fp32 roof); "
                f"model_fn cold start {setup['cold_start_s']:.2f} s"
            )
    lines.append(
        f"- local stack (local API -> handler -> boto3 -> model server), short text: p50 {stack['api_p50_ms']:.2f} ms"
        f" vs direct predict_fn {stack['direct_predict_fn_p50_ms']:.2f} ms: {stack['added_p50_ms']:.2f} ms added"
    )
    size = f"zipped function {lam['zip_mb']:.2f} MB; " if "zip_mb" in lam else ""
    lines.append(
        f"- Lambda: {size}cold import of handler.app {lam['import_ms']:.0f} ms (Python {lam['import_python']})"
    )
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, rates = [], []
    for name, setup in results["setups"].items():
        if "sentences_per_s" in setup:
            names.append(name)
            rates.append(setup["sentences_per_s"])
        for c in (1, 8, 32):
            if f"c{c}_sentences_per_s" in setup:
                names.append(f"server c={c}")
                rates.append(setup[f"c{c}_sentences_per_s"])
    lat_names = [n for n, s in results["setups"].items() if "latency_short_p50_ms" in s]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.5))
    left.barh(names, rates, color="tab:blue")
    left.set_xlabel("sentences / s (SST-2 dev, 2 cores)")
    left.set_title("Throughput, full-size DistilBERT")
    left.invert_yaxis()
    width = 0.2
    for i, key in enumerate(
        ["latency_short_p50_ms", "latency_short_p99_ms", "latency_128 tokens_p50_ms", "latency_128 tokens_p99_ms"]
    ):
        right.bar(
            [x + i * width for x in range(len(lat_names))],
            [results["setups"][n][key] for n in lat_names],
            width,
            label=key.removeprefix("latency_"),
        )
    right.set_xticks([x + 1.5 * width for x in range(len(lat_names))], lat_names)
    right.set_ylabel("ms")
    right.set_title("Single-request latency")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.bench", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="SST-2 dev.tsv")
    parser.add_argument("--config", type=Path, required=True, help="directory with the full-size config + tokenizer")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results", help="where bench.json and bench.png go")
    parser.add_argument("--path", choices=inference.INFERENCE_PATHS, default="int8", help="path for server/stack runs")
    parser.add_argument("--quick", action="store_true", help="CI smoke mode: tiny sizes, no timing claims")
    args = parser.parse_args(argv)
    for needed in (args.data, args.config / "config.json"):
        if not needed.exists():
            print(f"error: {needed} not found (pass --data/--config; ../shared/data holds them)", file=sys.stderr)
            return 2
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    chart(results, args.out / "bench.png")
    (args.out / "bench.md").write_text(markdown(results), encoding="utf-8")
    print(table(results))
    print(f"\nwrote {args.out / 'bench.json'}, {args.out / 'bench.md'} and {args.out / 'bench.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
