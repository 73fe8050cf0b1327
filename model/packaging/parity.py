"""The parity gate: an inference path other than fp32 ships only if it answers like fp32.

Both variants run through ``model/code/inference.py`` on an SST-2 style TSV (``dev.tsv``). The gate
passes when labels agree on at least 99.5 % of the sentences and accuracy drops by at most 0.3
points; the largest change of P(POSITIVE) is reported as well.

openvino-int8 runs what is not int8 in bf16 on CPUs with AVX512-BF16 or AMX and in f32 elsewhere,
and the packaging machine's CPU need not be the endpoint's: on a bf16 CPU it is checked both ways
(``SP_OPENVINO_PRECISION=f32`` for the second) and must pass both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.code import inference
from model.training.data import LABELS, read_tsv
from model.training.evaluate import environment, load, predictions_of

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


def served_precision(loaded: inference.LoadedModel) -> str | None:
    """What OpenVINO runs the float parts of openvino-int8 in (``bf16`` or ``f32``); None for other variants."""
    if loaded.variant != "openvino-int8":
        return None
    return str(loaded.backend.get_property("INFERENCE_PRECISION_HINT").get_type_name())


def _candidates(model_dir: Path, path: str) -> Iterator[tuple[str, inference.LoadedModel]]:
    """(label, loaded model) for every way ``path`` may be served: openvino-int8 on a bf16 CPU twice."""
    loaded = load(model_dir, path)
    precision = served_precision(loaded)
    yield (f"{path} ({precision})" if precision else path), loaded
    if precision not in (None, "f32"):
        with environment("SP_OPENVINO_PRECISION", "f32"):
            yield f"{path} (f32)", load(model_dir, path)


# fp32's answers per (model files, data): each recipe of a variant is gated against the same reference,
# and a staged folder links the same files, so it is computed once per packaging run.
_REFERENCES: dict[tuple[object, ...], list[dict[str, Any]]] = {}


def _reference(model_dir: Path, data: Path, texts: list[str]) -> list[dict[str, Any]]:
    files = tuple(sorted((p.name, str(p.resolve()), p.stat().st_mtime_ns) for p in model_dir.iterdir() if p.is_file()))
    key = (files, str(data.resolve()), data.stat().st_mtime_ns)
    if key not in _REFERENCES:
        _REFERENCES[key] = predictions_of(load(model_dir, REFERENCE), texts)
    return _REFERENCES[key]


def check(model_dir: Path, path: str, data: Path) -> list[Parity]:
    """Run fp32 and ``path`` over ``data`` through the serving code and compare them: one result per
    way ``path`` may be served (see the module's text); it ships only if every one passes."""
    examples = read_tsv(data)
    texts = [e.text for e in examples]
    gold = [LABELS[e.label] for e in examples]
    reference = _reference(model_dir, data, texts)
    return [
        compare(label, gold, reference, predictions_of(loaded, texts)) for label, loaded in _candidates(model_dir, path)
    ]
