"""The function package's zipped size and the cold import of ``handler.app``: in this venv, and on
Python 3.13 in the Lambda image (``python -m bench.cold_import``: with and without bytecode)."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from devstack.lambda_env import function_environment
from devstack.lambda_image import IMAGE, image_exists
from devstack.lambda_package import build_function, zip_directory

IMPORT_PROBE = "import time; t = time.perf_counter(); import handler.app; print((time.perf_counter() - t) * 1000)"


@dataclass
class LambdaPackage:
    import_ms: float
    import_python: str
    zip_mb: float | None = None  # not built in quick mode
    # p50 on Python 3.13 in the Lambda image, TracingMode Active / PassThrough (not quick, image present)
    image_import_ms: tuple[float, float] | None = None


def measure(quick: bool) -> LambdaPackage:
    """Zipped size of the built function and cold import time of handler.app (fresh interpreter).

    The import is timed with this venv's Python and the same pinned handler dependencies (the
    built package holds python3.13 wheels and no boto3, which the Lambda runtime provides).
    When the Lambda image is on the machine, it also times the built package on Python 3.13 there,
    with tracing on and off, like ``main``.
    """
    env = {**os.environ, **function_environment({"POWERTOOLS_TRACE_DISABLED": "true"})}
    zip_mb = None
    image_import_ms = None
    if not quick:
        with tempfile.TemporaryDirectory() as tmp:
            artifacts = build_function(Path(tmp) / "fn")
            zip_mb = zip_directory(artifacts, Path(tmp) / "fn.zip") / 1e6
            if image_exists(IMAGE):
                active, passthrough = (cold_import_in_image(artifacts, 7, IMAGE, t) for t in (True, False))
                image_import_ms = (statistics.median(active), statistics.median(passthrough))
    runs = []
    for _ in range(1 if quick else 7):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], env=env, capture_output=True, text=True, check=True)
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return LambdaPackage(
        import_ms=statistics.median(runs),
        import_python=platform.python_version(),
        zip_mb=zip_mb,
        image_import_ms=image_import_ms,
    )


def cold_import_in_image(function_dir: Path, runs: int, image: str, tracing: bool = True) -> list[float]:
    """ms to import handler.app in fresh Lambda-image containers, /var/task mounted read-only as on Lambda.
    ``tracing``: the template's TracingMode Active (Powertools' tracer on) or PassThrough (off)."""
    variables = function_environment({"POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true"})
    env = [arg for k, v in variables.items() for arg in ("-e", f"{k}={v}")]
    times = []
    for _ in range(runs):
        out = subprocess.run(
            ["docker", "run", "--rm", "-v", f"{function_dir}:/var/task:ro", *env,
             "--entrypoint", "/var/lang/bin/python3.13", image, "-c", IMPORT_PROBE],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cold_import",
        description="Cold import of handler.app on Python 3.13 in the Lambda image, with and without bytecode.",
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--image", default=IMAGE)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        built = build_function(Path(tmp) / "with-bytecode")
        bare = Path(tmp) / "without-bytecode"
        shutil.copytree(built, bare, ignore=shutil.ignore_patterns("__pycache__"))
        variants = (
            ("without bytecode, tracing Active", bare, True),
            ("with bytecode, tracing Active", built, True),
            ("with bytecode, tracing PassThrough", built, False),
        )
        for name, directory, tracing in variants:
            size = zip_directory(directory, Path(tmp) / f"{directory.name}.zip") / 1e6
            times = cold_import_in_image(directory, args.runs, args.image, tracing)
            print(f"{name:<35} zip {size:.2f} MB  cold import p50 {statistics.median(times):.0f} ms  "
                  f"(runs: {', '.join(f'{t:.0f}' for t in times)})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
