"""``make bench-start``: what each archive costs at start on the DLC's real serving stack, and serves.

For the embedded model, ``make package-model``'s fp32 archive and the archive it ships by default
(``auto``: fp32 plus the gated openvino-int8 graph, with OpenVINO installed in ``code/`` for .venv-dlc's
Python), packaged anew from the current code, each started three times (the archives taking turns) by
the toolkit and multi-model-server (devstack/dlc.py) with the template's default
``SP_INFERENCE_VARIANT=auto``: archive size, seconds to extract it, seconds from spawn to the first
answered invocation (auto's timing included), the variant auto chose on this CPU with the timings it
logged, and what the started endpoint then serves (one dev sentence per request, in turn). Written to
docs/start-cost.md, so a user can weigh start time against throughput for serverless cold starts.
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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import median

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
LOADED = re.compile(r"model loaded: .* in ([0-9.]+)s")


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


@dataclass(frozen=True)
class Start:
    extract_s: float  # the archive into model/
    start_s: float  # spawn to the first answered invocation
    load_s: float | None  # model_fn, as the worker logged it
    choice: str  # the variant served, and why (auto's timings)
    served: tuple[float, float]  # sentences/s, median ms


def start(archive: Path, texts: list[str]) -> Start:
    with tempfile.TemporaryDirectory(prefix="dlc-start-") as tmp, open(Path(tmp) / "log", "wb") as log:
        environment = TEMPLATE_ENVIRONMENT  # SP_INFERENCE_VARIANT unset: auto, the template's default
        container = DlcContainer(archive, free_mms_port(), run_dir=Path(tmp) / "run", environment=environment, log=log)
        try:
            container.start()
            variant = served_variant(container.url)
            throughput = served(container.url, texts)
        finally:
            container.stop()
        files = [Path(tmp) / "log", *(Path(tmp) / "run" / "logs").glob("*.log*")]  # ours, MMS's (rolled too)
        logs = "\n".join(p.read_text(errors="replace") for p in files)
    reason, loaded = CHOICE.search(logs), LOADED.search(logs)
    choice = f"{variant} ({reason.group(2) if reason else 'its timings not found in the logs'})"
    load_s = float(loaded.group(1)) if loaded else None
    return Start(container.extract_seconds or 0.0, container.start_seconds or 0.0, load_s, choice, throughput)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dlc_start", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="the SST-2 folder (dev.tsv gates, train.tsv calibrates)"
    )
    parser.add_argument("--starts", type=int, default=3, help="starts of each archive, taking turns (default 3)")
    args = parser.parse_args(argv)
    texts = [e.text for e in read_tsv(args.data / "dev.tsv")][:SERVED_REQUESTS]
    archives = {variant: package(variant, args.data, BUILD / variant / "model.tar.gz") for variant in ARCHIVES}
    runs: dict[str, list[Start]] = {variant: [] for variant in ARCHIVES}
    for number in range(args.starts):  # the archives take turns: a noisy minute hits both alike
        for variant, archive in archives.items():
            try:
                runs[variant].append(start(archive, texts))
            except (DlcError, OSError) as exc:
                print(f"error: {variant}: {exc}", file=sys.stderr)
                return 1
            print(f"start {number + 1}/{args.starts} {variant}: {runs[variant][-1]}", flush=True)
    rows = [row(ARCHIVES[variant], archives[variant], runs[variant]) for variant in ARCHIVES]
    print("\n".join(rows))
    DOC.write_text(document(rows, extra(runs["fp32"], runs["auto"]), args.starts), encoding="utf-8")
    print(f"written: {DOC.relative_to(ROOT)}")
    return 0


def row(label: str, archive: Path, runs: list[Start]) -> str:
    def each(values: Sequence[float | None]) -> str:
        return ", ".join("?" if value is None else f"{value:.1f}" for value in values)

    rate = ", ".join(f"{r.served[0]:.1f} / {r.served[1]:.1f}" for r in runs)
    columns = ([r.extract_s for r in runs], [r.start_s for r in runs], [r.load_s for r in runs])
    timings = " | ".join(each(values) for values in columns)
    return f"| {label} | {archive.stat().st_size / 1e6:.1f} MB | {timings} | {runs[-1].choice} | {rate} |"


def extra(fp32: list[Start], fast: list[Start]) -> str:
    """What the shipped default adds to a start over fp32, as medians."""
    start_s = median(r.start_s for r in fast) - median(r.start_s for r in fp32)
    extract_s = median(r.extract_s for r in fast) - median(r.extract_s for r in fp32)
    loads = [(a.load_s, b.load_s) for a, b in zip(fp32, fast, strict=True) if a.load_s and b.load_s]
    load_s = f"{median(b for _, b in loads) - median(a for a, _ in loads):.1f} s" if loads else "not logged"
    return (
        f"The shipped default's extra, medians against fp32: **{start_s:.1f} s to the first answer** "
        f"(model_fn: {load_s}), and {extract_s:.1f} s more to extract."
    )


def document(rows: list[str], summary: str, starts: int) -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    cpu = names[0] if names else platform.processor() or platform.machine()
    isa = "AVX-512 with VNNI" if "avx512_vnni" in cpuinfo else "AVX-512" if "avx512f" in cpuinfo else "AVX2 only"
    return "\n".join(
        [
            "# What an archive costs at start, and what it then serves",
            "",
            f"Generated by `make bench-start` on {date.today().isoformat()} ({cpu}, {isa}): the embedded model's",
            "archives started by the Hugging Face DLC's real serving stack (toolkit 2.6.0, multi-model-server,",
            f"`.venv-dlc`) with the template's default `SP_INFERENCE_VARIANT=auto`, {starts} times each, taking",
            "turns. Extract = the archive unpacked into `model/`, as SageMaker does before the container starts",
            "(local disk here). Start = spawn to the first answered invocation, auto's timing included; the",
            "download from S3, which serverless cold starts also pay, is in neither. model_fn = the load as the",
            f"worker logged it, inside start. Served = {SERVED_REQUESTS} dev sentences, one per request, one at a",
            "time, on the started endpoint (sentences/s / median ms, per start).",
            "",
            "| archive | size | extract (s) | start (s) | model_fn (s) | auto served (last start) "
            "| served: sentences/s / median ms |",
            "|---|---:|---|---|---|---|---|",
            *rows,
            "",
            summary,
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
