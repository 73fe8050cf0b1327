"""``archive-manifest.json`` at the archive root: what ``make package-model`` put in it and why.

Not ``manifest.json``: multi-model-server reads a model directory's ``manifest.json`` as its own legacy
archive manifest and fails to start (found by make bench-start on the real stack).

The variants it holds (fp32 always; each variant that passed, with its recipe), each one's parity-gate
figures, and where the gate's data came from with the sha256 of what the gate and the calibration
read, so an archive can be traced to its evidence without rerunning anything. ``inference.py`` does
not need it: ``auto`` finds the graphs themselves (``backends.has_graph``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from model.digest import sha256_bytes, sha256_file
from model.packaging.parity import MAX_ACCURACY_DROP, MIN_AGREEMENT, Parity
from model.packaging.shipping import Gated

NAME = "archive-manifest.json"


def manifest(
    shipped: Sequence[Gated], parity_data: Path | None, calibration: Sequence[str], data_source: str | None = None
) -> dict[str, Any]:
    variants: dict[str, Any] = {"fp32": {"reference": True}}
    for gated in shipped:
        variants[gated.variant] = {"recipe": gated.recipe, "gate": [_figures(result) for result in gated.gate]}
    return {
        "variants": variants,
        "gate": {"min_label_agreement": MIN_AGREEMENT, "max_accuracy_drop": MAX_ACCURACY_DROP},
        "parity_data_sha256": sha256_file(parity_data) if parity_data is not None and parity_data.is_file() else None,
        "data_source": data_source,
        "calibration": {
            "sentences": len(calibration),
            "sha256": sha256_bytes("\n".join(calibration).encode("utf-8")) if calibration else None,
        },
    }


def _figures(result: Parity) -> dict[str, Any]:
    return {
        "precision": result.path,
        "sentences": result.examples,
        "label_agreement": round(result.agreement, 6),
        "accuracy": round(result.accuracy, 6),
        "reference_accuracy": round(result.reference_accuracy, 6),
        "max_delta_p_positive": round(result.max_delta_p, 6),
        "passed": result.passed,
    }


def write(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
