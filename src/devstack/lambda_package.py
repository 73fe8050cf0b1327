"""The function package as ``sam build`` makes it, and zipped as Lambda receives it.

One builder for the Lambda image, the benchmark (bench/cold_import.py) and the template tests: it runs
the same ``src/handler/Makefile`` target that ``sam build`` runs (``BuildMethod: makefile``).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HANDLER_DIR = ROOT / "src" / "handler"


def build_function(artifacts: Path, python: str = sys.executable) -> Path:
    """Install the function's python3.13 wheels and code into ``artifacts`` (what sam build does)."""
    subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(HANDLER_DIR),
            "build-PredictFunction",
            f"ARTIFACTS_DIR={artifacts}",
            f"PYTHON={python}",
        ],
        check=True,
        capture_output=True,
    )
    return artifacts


def zip_directory(directory: Path, archive: Path) -> int:
    """Zip ``directory`` (sorted entries, deflate) the way the deployment package is uploaded; returns bytes."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(directory.rglob("*")):
            bundle.write(path, path.relative_to(directory))
    return archive.stat().st_size
