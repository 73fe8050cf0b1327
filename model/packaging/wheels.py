"""ONNX Runtime or OpenVINO for an endpoint without internet: wheels inside ``model.tar.gz``.

Packaged endpoints run with network isolation, so nothing can be downloaded at start. The Hugging
Face DLC pip-installs ``code/requirements.txt`` before it loads ``inference.py``; ours points pip at
the wheels shipped beside it (``--no-index --find-links``), built for the DLC's Python (3.12,
manylinux x86_64). pip installs only what the image does not already satisfy (numpy, protobuf and
packaging usually are), so shipping every dependency costs archive size, not start time.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from model.code import backends

DLC_PYTHON = "3.12"  # the default DLC's; the real-stack test tier packages for its own Python (--dlc-python)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux2014_x86_64")
WHEELS_DIR = "code/wheels"
# In requirements.txt, pip reads a relative --find-links path from the requirements file's folder
# (code/): found wherever the archive is extracted (/opt/ml/model in the DLC).
FIND_LINKS = "wheels"


class WheelError(Exception):
    """The runtime's wheels could not be fetched for the DLC's platform."""


def runtime_requirement(path: str) -> str:
    """The runtime ``path``'s graph was built and checked with (this environment's), pinned."""
    distribution = backends.GRAPHS[path][1]
    return f"{distribution}=={metadata.version(distribution)}"


def pip_target_args(python: str = DLC_PYTHON) -> list[str]:
    """pip options selecting wheels for the DLC's interpreter and platform."""
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return ["--only-binary=:all:", "--python-version", python, "--implementation", "cp", *platforms]


def download(dest: Path, path: str, python: str = DLC_PYTHON) -> list[Path]:
    """Fetch the runtime and its dependencies as DLC-compatible wheels into ``dest`` (pip's cache helps)."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", *pip_target_args(python), "-d", str(dest)]
    result = subprocess.run([*command, runtime_requirement(path)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise WheelError(f"could not download {runtime_requirement(path)} for Python {python} manylinux: {last}")
    return sorted(dest.glob("*.whl"))


def offline_install_seconds(wheel_dir: Path, scratch: Path, variants: Sequence[str], python: str = DLC_PYTHON) -> float:
    """Install the runtime from ``wheel_dir`` alone (``--no-index``, DLC platform) into ``scratch``: proof
    that an isolated endpoint can, and the start time it adds when the image has none of the wheels."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--find-links", str(wheel_dir)]
    started = time.perf_counter()
    result = subprocess.run(
        [*command, *pip_target_args(python), "--target", str(scratch), *map(runtime_requirement, variants)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise WheelError(f"the shipped wheels do not install without an index: {last}")
    return time.perf_counter() - started


def requirements_text(variants: Sequence[str]) -> str:
    """``code/requirements.txt``: install from the shipped wheels only, never from the internet."""
    pins = sorted({runtime_requirement(variant) for variant in variants})
    return "".join(f"{line}\n" for line in ("--no-index", f"--find-links {FIND_LINKS}", *pins))
