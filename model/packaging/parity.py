"""The parity gate: an inference path other than fp32 ships only if it answers like fp32.

Both paths run through ``model/code/inference.py`` on an SST-2 style TSV (``dev.tsv``). The gate
passes when labels agree on at least 99.5 % of the sentences and accuracy drops by at most 0.3
points; the largest change of P(POSITIVE) is reported as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.training.data import LABELS, read_tsv
from model.training.evaluate import load, predictions_of

MIN_AGREEMENT = 0.995
MAX_ACCURACY_DROP = 0.003  # 0.3 points
REFERENCE = "fp32"


@dataclass(frozen=True)
class Parity:
    path: str
    examples: int
    agreement: float
    reference_accuracy: float
    accuracy: float
    max_delta_p: float

    @property
    def accuracy_drop(self) -> float:
        return self.reference_accuracy - self.accuracy

    @property
    def passed(self) -> bool:
        # Fractions of the same sentence count: a tolerance far below one sentence absorbs float rounding.
        return self.agreement >= MIN_AGREEMENT - 1e-9 and self.accuracy_drop <= MAX_ACCURACY_DROP + 1e-9

    def describe(self) -> str:
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"parity {self.path} vs {REFERENCE} on {self.examples} sentences: {verdict}\n"
            f"  label agreement {self.agreement * 100:.2f} % (needs >= {MIN_AGREEMENT * 100:.1f} %)\n"
            f"  accuracy {self.accuracy * 100:.2f} % vs {self.reference_accuracy * 100:.2f} %: drop "
            f"{self.accuracy_drop * 100:.2f} points (allowed <= {MAX_ACCURACY_DROP * 100:.1f})\n"
            f"  max |delta P(POSITIVE)| {self.max_delta_p:.4f}"
        )


def p_positive(prediction: dict[str, Any]) -> float:
    score = float(prediction["score"])
    if prediction["label"] == LABELS[1]:
        return score
    return 1.0 - score


def compare(path: str, gold: list[str], reference: list[dict[str, Any]], candidate: list[dict[str, Any]]) -> Parity:
    def accuracy(predictions: list[dict[str, Any]]) -> float:
        return sum(1 for p, g in zip(predictions, gold, strict=True) if p["label"] == g) / len(gold)

    pairs = list(zip(reference, candidate, strict=True))
    return Parity(
        path=path,
        examples=len(gold),
        agreement=sum(1 for r, c in pairs if r["label"] == c["label"]) / len(pairs),
        reference_accuracy=accuracy(reference),
        accuracy=accuracy(candidate),
        max_delta_p=max(abs(p_positive(r) - p_positive(c)) for r, c in pairs),
    )


def check(model_dir: Path, path: str, data: Path) -> Parity:
    """Run fp32 and ``path`` over ``data`` through the serving code and compare them."""
    examples = read_tsv(data)
    texts = [e.text for e in examples]
    reference = predictions_of(load(model_dir, REFERENCE), texts)
    candidate = predictions_of(load(model_dir, path), texts)
    return compare(path, [LABELS[e.label] for e in examples], reference, candidate)
