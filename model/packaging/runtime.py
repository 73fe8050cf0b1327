"""ONNX Runtime or OpenVINO for an endpoint without internet: installed inside ``model.tar.gz``'s ``code/``.

Packaged endpoints run with network isolation, so nothing can be downloaded at start. The Hugging Face
toolkit puts ``code/`` first on ``sys.path`` before it imports ``inference.py`` (``handler_service.
initialize``), so a runtime installed into ``code/`` with ``pip install --target``, for the DLC's Python
(3.12, manylinux x86_64), imports as it is: no ``code/requirements.txt`` and no pip at start. (Wheels that
the toolkit pip-installed from the archive cost about 7.5 s at every start: docs/start-cost.md.)

What ships is the runtime and its dependencies, at this environment's versions (the graph was built and
gated with them), less two things:

- what the serving image certainly has: it serves transformers and torch, so their own requirements
  (numpy, packaging, ...) are installed there, and the image's copies stay the ones in use;
- the parts of OpenVINO an endpoint never loads (``PRUNED``): it reads its own IR and compiles it for the
  CPU, so the GPU and NPU plugins, the GPU kernel cache, the frontends for other formats and the C++
  headers stay out (half the install's size).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from model.code import backends

DLC_PYTHON = "3.12"  # the default DLC's; the real-stack test tier packages for its own Python (--dlc-python)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux2014_x86_64")
IMAGE_PACKAGES = ("transformers", "torch")  # what the DLC serves with: their requirements are installed there
OPENVINO_LIBS = "openvino/libs"
PRUNED = (  # globs under the install folder
    "bin/*",  # console scripts, whose first line names this machine's Python
    "openvino/include/**/*",
    f"{OPENVINO_LIBS}/cache.json",  # the GPU plugin's kernel cache
    f"{OPENVINO_LIBS}/libopenvino_intel_gpu_plugin.so",
    f"{OPENVINO_LIBS}/libopenvino_intel_npu_plugin.so",
    f"{OPENVINO_LIBS}/libopenvino_*_frontend.so*",  # but the IR frontend's: KEPT
)
KEPT = (f"{OPENVINO_LIBS}/libopenvino_ir_frontend.so*",)


class RuntimeInstallError(Exception):
    """The runtime could not be installed for the DLC's platform."""


def pip_target_args(python: str = DLC_PYTHON) -> list[str]:
    """pip options selecting wheels for the DLC's interpreter and platform."""
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return ["--only-binary=:all:", "--python-version", python, "--implementation", "cp", *platforms]


def _requirements(distribution: str) -> Iterator[str]:
    """The names ``distribution`` requires here, extras and other platforms' markers left out."""
    for line in metadata.requires(distribution) or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            yield canonicalize_name(requirement.name)


def image_provides() -> set[str]:
    """Distributions the serving image has for certain: the image packages and what they require."""
    return {canonicalize_name(name) for name in IMAGE_PACKAGES} | {
        name for package in IMAGE_PACKAGES for name in _requirements(package)
    }


def shipped_requirements(variants: Sequence[str]) -> list[str]:
    """The graph variants' runtimes and everything they require that the image lacks, pinned to here."""
    provided, found = image_provides(), set[str]()
    waiting: list[str] = [canonicalize_name(backends.GRAPHS[variant][1]) for variant in variants]
    while waiting:
        name = waiting.pop()
        if name in found or name in provided:
            continue
        found.add(name)
        waiting.extend(_requirements(name))
    return sorted(f"{name}=={metadata.version(name)}" for name in found)


def install(dest: Path, variants: Sequence[str], python: str = DLC_PYTHON) -> tuple[list[Path], float]:
    """``pip install --target dest`` of ``shipped_requirements`` for the DLC's Python, pruned: the files,
    and the seconds it took (pip's cache helps)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    command += ["--no-compile", *pip_target_args(python), "--target", str(dest)]
    pins = shipped_requirements(variants)
    started = time.perf_counter()
    result = subprocess.run([*command, *pins], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise RuntimeInstallError(f"could not install {', '.join(pins)} for Python {python} manylinux: {last}")
    prune(dest)
    return sorted(p for p in dest.rglob("*") if p.is_file()), time.perf_counter() - started


def prune(dest: Path) -> list[Path]:
    """Remove ``PRUNED`` (but not ``KEPT``) from an install folder; the files removed."""
    kept = {path for pattern in KEPT for path in dest.glob(pattern)}
    removed = sorted({p for pattern in PRUNED for p in dest.glob(pattern) if p.is_file() and p not in kept})
    for path in removed:
        path.unlink()
    return removed
