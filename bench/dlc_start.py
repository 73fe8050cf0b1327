"""``make bench-start``: what each archive costs at start on the DLC's real serving stack.

For the embedded model, ``make package-model``'s fp32 archive and its openvino-int8 archive (wheels
for .venv-dlc's Python), each started twice by the toolkit and multi-model-server (devstack/dlc.py)
with the template's default ``SP_INFERENCE_VARIANT=auto``: archive size, seconds from spawn to the
first answered invocation (wheel install and auto's timing included), and the variant auto chose on
this CPU with the timings it logged.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from devstack.dlc import DlcContainer, DlcError, free_mms_port
from devstack.lambda_env import ROOT
from model.packaging import __main__ as packaging

BUILD = ROOT / "build" / "bench" / "dlc-start"
# The template's container environment at its defaults (the dlc test tier renders it from template.yaml).
TEMPLATE_ENVIRONMENT = {"HF_TASK": "text-classification", "SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
CHOICE = re.compile(r"variant=(\S+) \((auto: [^)]*)\)")


def package(variant: str, data: Path, out: Path) -> Path:
    if not out.exists():
        argv = ["package", "--model", str(ROOT / "model" / "embedded"), "--out", str(out), "--variant", variant]
        argv += ["--parity-data", str(data / "dev.tsv"), "--calibration-data", str(data / "train.tsv")]
        if packaging.main([*argv, "--dlc-python", "3.11"]) != 0:  # .venv-dlc's Python
            raise SystemExit(f"error: packaging {variant} failed")
    return out


def start(archive: Path) -> tuple[float, str]:
    """(seconds to the first answer, what auto logged about its choice)."""
    with tempfile.TemporaryDirectory(prefix="dlc-start-") as tmp, open(Path(tmp) / "log", "wb") as log:
        environment = TEMPLATE_ENVIRONMENT  # SP_INFERENCE_VARIANT unset: auto, the template's default
        container = DlcContainer(archive, free_mms_port(), run_dir=Path(tmp) / "run", environment=environment, log=log)
        try:
            container.start()
        finally:
            container.stop()
        files = [Path(tmp) / "log", *(Path(tmp) / "run" / "logs").glob("*.log")]  # the stack's output, MMS's logs
        logs = "\n".join(p.read_text(errors="replace") for p in files)
        found = CHOICE.search(logs)
        return container.start_seconds or 0.0, f"{found.group(1)} ({found.group(2)})" if found else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dlc_start", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data", type=Path, required=True, help="the SST-2 folder (dev.tsv gates, train.tsv calibrates)"
    )
    parser.add_argument("--starts", type=int, default=2)
    args = parser.parse_args(argv)
    print("| archive | size | start (s) | auto served |\n|---|---:|---|---|")
    for variant in ("fp32", "openvino-int8"):
        archive = package(variant, args.data, BUILD / variant / "model.tar.gz")
        try:
            runs = [start(archive) for _ in range(args.starts)]
        except (DlcError, OSError) as exc:
            print(f"error: {variant}: {exc}", file=sys.stderr)
            return 1
        seconds = ", ".join(f"{s:.1f}" for s, _ in runs)
        print(f"| {variant} | {archive.stat().st_size / 1e6:.1f} MB | {seconds} | {runs[-1][1]} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
