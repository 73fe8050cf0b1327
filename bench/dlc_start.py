"""``make bench-start``: what each archive costs at start on the DLC's real serving stack, and serves.

For the embedded model, ``make package-model``'s fp32 archive and the archive it ships by default
(``auto``: fp32 plus the gated openvino-int8 graph, with OpenVINO installed in ``code/`` for .venv-dlc's
Python), packaged anew from the current code, each started twice by the toolkit and multi-model-server
(devstack/dlc.py) with the template's default ``SP_INFERENCE_VARIANT=auto``: archive size, seconds to
extract it, seconds from spawn to the first answered invocation (auto's timing included), the variant
auto chose on this CPU with the timings it logged, and what the started endpoint then serves (one dev
sentence per request, in turn). Written to docs/start-cost.md, so a user can weigh start time against
throughput for serverless cold starts.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

from devstack.dlc import DlcContainer, DlcError, free_mms_port, python_version
from devstack.lambda_env import ROOT
from model.packaging import __main__ as packaging
from model.training.data import read_tsv

BUILD = ROOT / "build" / "bench" / "dlc-start"
DOC = ROOT / "docs" / "start-cost.md"
ARCHIVES = {"fp32": "fp32", "auto": "shipped default (auto: fp32 + openvino-int8)"}
SERVED_REQUESTS = 200
# The template's container environment at its defaults (the dlc test tier renders it from template.yaml).
TEMPLATE_ENVIRONMENT = {"HF_TASK": "text-classification", "SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
CHOICE = re.compile(r"variant=(\S+) \((auto: [^)]*)\)")


def package(variant: str, data: Path, out: Path) -> Path:
    """Always anew: an archive left by an older run may hold older code or runtime."""
    argv = ["package", "--model", str(ROOT / "model" / "embedded"), "--out", str(out), "--variant", variant]
    argv += ["--parity-data", str(data / "dev.tsv"), "--calibration-data", str(data / "train.tsv")]
    if packaging.main([*argv, "--dlc-python", python_version()]) != 0:
        raise SystemExit(f"error: packaging {variant} failed")
    return out


def served(url: str, texts: list[str]) -> tuple[float, float]:
    """(sentences per second, median ms) for one text per request, one request at a time."""
    seconds = []
    for text in texts:
        body = json.dumps({"inputs": [text]}).encode()
        request = urllib.request.Request(f"{url}/invocations", body, {"Content-Type": "application/json"})  # noqa: S310
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
            answer.read()
        seconds.append(time.perf_counter() - started)
    return len(texts) / sum(seconds), sorted(seconds)[len(seconds) // 2] * 1000


def served_variant(url: str) -> str:
    """The variant the endpoint loaded, from its own info call (inference.report)."""
    body = json.dumps({"inputs": [], "parameters": {"info": True}}).encode()
    request = urllib.request.Request(f"{url}/invocations", body, {"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - loopback
        variant: str = json.loads(answer.read())["variant"]
    return variant


def start(archive: Path, texts: list[str]) -> tuple[float, float, str, tuple[float, float]]:
    """(seconds to extract, seconds to the first answer, what auto logged about its choice, what it then serves)."""
    with tempfile.TemporaryDirectory(prefix="dlc-start-") as tmp, open(Path(tmp) / "log", "wb") as log:
        environment = TEMPLATE_ENVIRONMENT  # SP_INFERENCE_VARIANT unset: auto, the template's default
        container = DlcContainer(archive, free_mms_port(), run_dir=Path(tmp) / "run", environment=environment, log=log)
        try:
            container.start()
            variant = served_variant(container.url)
            reason = logged_choice(Path(tmp))
            throughput = served(container.url, texts)
        finally:
            container.stop()
        choice = f"{variant} ({reason or 'its timings not found in the logs'})"
        return container.extract_seconds or 0.0, container.start_seconds or 0.0, choice, throughput


def logged_choice(tmp: Path, wait: float = 30) -> str | None:
    """auto's reason from the worker's load line, read while the endpoint runs, waiting up to ``wait``
    seconds for MMS to relay it: in one run, logs read after the stop lacked it (cause not found)."""
    deadline = time.monotonic() + wait
    while True:
        files = [tmp / "log", *(tmp / "run" / "logs").glob("*.log*")]  # ours, MMS's (rolled too)
        found = CHOICE.search("\n".join(p.read_text(errors="replace") for p in files if p.is_file()))
        if found or time.monotonic() > deadline:
            return found.group(2) if found else None
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dlc_start", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="the SST-2 folder (dev.tsv gates, train.tsv calibrates)"
    )
    parser.add_argument("--starts", type=int, default=2)
    args = parser.parse_args(argv)
    texts = [e.text for e in read_tsv(args.data / "dev.tsv")][:SERVED_REQUESTS]
    rows = []
    for variant, label in ARCHIVES.items():
        archive = package(variant, args.data, BUILD / variant / "model.tar.gz")
        try:
            runs = [start(archive, texts) for _ in range(args.starts)]
        except (DlcError, OSError) as exc:
            print(f"error: {variant}: {exc}", file=sys.stderr)
            return 1
        extracted = ", ".join(f"{e:.1f}" for e, _, _, _ in runs)
        seconds = ", ".join(f"{s:.1f}" for _, s, _, _ in runs)
        rate = ", ".join(f"{r:.1f} / {ms:.1f}" for _, _, _, (r, ms) in runs)
        size = f"{archive.stat().st_size / 1e6:.1f} MB"
        rows.append(f"| {label} | {size} | {extracted} | {seconds} | {runs[-1][2]} | {rate} |")
        print(rows[-1], flush=True)
    DOC.write_text(document(rows), encoding="utf-8")
    print(f"written: {DOC.relative_to(ROOT)}")
    return 0


def document(rows: list[str]) -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor() or platform.machine(),
    )  # fmt: skip
    flags = Path("/proc/cpuinfo").read_text()
    isa = "AVX-512 with VNNI" if "avx512_vnni" in flags else "AVX-512" if "avx512f" in flags else "AVX2 only"
    return "\n".join(
        [
            "# What an archive costs at start, and what it then serves",
            "",
            f"Generated by `make bench-start` on {date.today().isoformat()} ({cpu}, {isa}): the embedded model's",
            "archives started by the Hugging Face DLC's real serving stack (toolkit 2.6.0, multi-model-server,",
            "`.venv-dlc`) with the template's default `SP_INFERENCE_VARIANT=auto`, twice each. Extract = the",
            "archive unpacked into `model/`, as SageMaker does before the container starts (local disk here).",
            "Start = spawn to the first answered invocation, auto's timing included; the download from S3,",
            f"which serverless cold starts also pay, is not in either. Served = {SERVED_REQUESTS} dev sentences, one",
            "per request, one at a time, on the started endpoint (sentences/s / median ms, per start).",
            "",
            "| archive | size | extract (s) | start (s) | auto served | served: sentences/s / median ms |",
            "|---|---:|---|---|---|---|",
            *rows,
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
