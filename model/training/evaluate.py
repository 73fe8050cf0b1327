"""Evaluate any model the server can load, through the serving code (model/code/inference.py).

Prints accuracy, F1 and the confusion matrix on an SST-2 style TSV. With several inference variants
(``--variants fp32,bf16``) it also prints how often each variant agrees with the first one (parity).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.code import inference
from model.code.passes import collate
from model.source import ModelSourceError, resolve_model_dir
from model.training.data import LABELS, DataError, Encoded, read_tsv


@dataclass
class Report:
    path: str
    examples: int
    accuracy: float
    f1_positive: float
    f1_macro: float
    confusion: dict[str, dict[str, int]]  # gold -> predicted -> count
    agreement_with_first: float | None = None
    load_seconds: float | None = None  # model_fn, warm-up included


@torch.inference_mode()
def model_accuracy(model: torch.nn.Module, data: Encoded, pad_id: int) -> float:
    """Accuracy of a model being trained on ``data`` (checkpoint selection and the soup, on dev)."""
    was_training = model.training
    model.eval()
    order = sorted(range(len(data.sequences)), key=lambda i: len(data.sequences[i]))
    correct = 0
    for start in range(0, len(order), 128):
        batch = order[start : start + 128]
        ids, mask = collate([data.sequences[i] for i in batch], pad_id)
        predicted = model(input_ids=ids, attention_mask=mask).logits.argmax(-1).tolist()
        correct += sum(int(p == data.labels[i]) for p, i in zip(predicted, batch, strict=True))
    model.train(was_training)
    return correct / len(order)


@contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    """``name=value`` for the block only: model_fn reads its settings from the environment, and what this
    process starts later (make bench-start's serving stack) must not inherit a setting meant for one load."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            del os.environ[name]
        else:
            os.environ[name] = before


def load(model_dir: Path, path: str) -> inference.LoadedModel:
    with environment("SP_INFERENCE_VARIANT", path):
        return inference.model_fn(str(model_dir))


def predictions_of(loaded: inference.LoadedModel, texts: list[str]) -> list[dict[str, Any]]:
    """``{"label", "score"}`` per text through ``predict_fn``, with a progress bar."""
    predictions: list[dict[str, Any]] = []
    step = 256
    for start in tqdm(range(0, len(texts), step), desc=f"eval {loaded.variant}", unit="batch", file=sys.stderr):
        chunk = texts[start : start + step]
        predictions.extend(inference.predict_fn({"inputs": chunk, "parameters": {}}, loaded))
    return predictions


def labels_of(loaded: inference.LoadedModel, texts: list[str]) -> list[str]:
    return [p["label"] for p in predictions_of(loaded, texts)]


def predict_labels(model_dir: Path, texts: list[str], path: str) -> list[str]:
    return labels_of(load(model_dir, path), texts)


def score(path: str, gold: list[str], predicted: list[str]) -> Report:
    confusion = {g: dict.fromkeys(LABELS, 0) for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] = confusion[g].get(p, 0) + 1

    def f1(label: str) -> float:
        tp = confusion[label][label]
        fp = sum(confusion[g][label] for g in LABELS if g != label)
        fn = sum(v for p, v in confusion[label].items() if p != label)
        return 2 * tp / (2 * tp + fp + fn) if tp else 0.0

    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    return Report(
        path=path,
        examples=len(gold),
        accuracy=correct / len(gold),
        f1_positive=f1("POSITIVE"),
        f1_macro=(f1("POSITIVE") + f1("NEGATIVE")) / 2,
        confusion=confusion,
    )


def render(report: Report) -> str:
    lines = [
        f"inference path {report.path}: {report.examples} examples",
        f"  accuracy     {report.accuracy * 100:6.2f} %",
        f"  F1 positive  {report.f1_positive * 100:6.2f} %",
        f"  F1 macro     {report.f1_macro * 100:6.2f} %",
        "  confusion (rows gold, columns predicted):",
        f"    {'':>10} {'NEGATIVE':>9} {'POSITIVE':>9}",
    ]
    for gold in LABELS:
        lines.append(f"    {gold:>10} {report.confusion[gold]['NEGATIVE']:>9} {report.confusion[gold]['POSITIVE']:>9}")
    if report.load_seconds is not None:
        lines.append(f"  model_fn load {report.load_seconds:.2f} s (warm-up included)")
    if report.agreement_with_first is not None:
        lines.append(f"  label agreement with the first path: {report.agreement_with_first * 100:.2f} %")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.training.evaluate", description=__doc__)
    parser.add_argument("--model", required=True, help="model directory, model.tar.gz, or Hub id")
    parser.add_argument("--data", type=Path, required=True, help="SST-2 TSV file (or a directory holding dev.tsv)")
    parser.add_argument(
        "--variants",
        default="fp32",
        help="comma-separated inference variants, e.g. fp32,bf16 (onnx-*, openvino-int8: a packaged model)",
    )
    parser.add_argument("--json", type=Path, help="also write the reports as JSON here")
    args = parser.parse_args(argv)
    paths = [p.strip() for p in args.variants.split(",") if p.strip()]
    unknown = set(paths) - set(inference.VARIANT_NAMES)
    if not paths or unknown:
        parser.error(f"--variants takes {', '.join(inference.VARIANT_NAMES)}")
    data = args.data / "dev.tsv" if args.data.is_dir() else args.data
    try:
        examples = read_tsv(data)
        model_dir = resolve_model_dir(args.model)
    except (DataError, ModelSourceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gold = [LABELS[e.label] for e in examples]
    texts = [e.text for e in examples]
    reports: list[Report] = []
    first: list[str] | None = None
    for path in paths:
        loaded = load(model_dir, path)
        predicted = labels_of(loaded, texts)
        report = score(path, gold, predicted)
        report.load_seconds = loaded.load_seconds
        if first is None:
            first = predicted
        else:
            report.agreement_with_first = sum(a == b for a, b in zip(first, predicted, strict=True)) / len(first)
        reports.append(report)
        print(render(report))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in reports], indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
