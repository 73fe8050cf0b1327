"""Train the embedded SentimentPulse model: a small DistilBERT with its own WordPiece vocabulary.

Trains only on ``train.tsv`` and selects the checkpoint only on ``dev.tsv``:

1. a WordPiece vocabulary learned from the training sentences;
2. optional masked-language-model pretraining on the training sentences (in-domain, no labels);
3. sequence-classification fine-tuning; the epoch with the best dev accuracy is kept.

The output is a normal Hugging Face model directory (config, safetensors, tokenizer files) plus a
model card (README.md) and ``training.json`` with data hashes, hyper-parameters, seed, timings and
the measured dev accuracy. Run ``python -m model.training.train --help``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tqdm import tqdm
from transformers import (
    DistilBertConfig,
    DistilBertForMaskedLM,
    DistilBertForSequenceClassification,
    PreTrainedTokenizerFast,
)

from model.packaging.archive import sha256_file
from model.training.data import DataError, Example, read_tsv

LABELS = {0: "NEGATIVE", 1: "POSITIVE"}
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass(frozen=True)
class HyperParams:
    vocab_size: int = 8000
    dim: int = 256
    n_layers: int = 4
    n_heads: int = 4
    hidden_dim: int = 1024
    max_length: int = 128
    dropout: float = 0.1
    seq_classif_dropout: float = 0.2
    batch_size: int = 64
    mlm_epochs: int = 3
    mlm_lr: float = 7e-4
    mlm_probability: float = 0.15
    epochs: int = 3
    token_dropout: float = 0.0  # fine-tuning augmentation: share of tokens replaced by [MASK]
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    seed: int = 13


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def build_tokenizer(texts: list[str], hp: HyperParams) -> PreTrainedTokenizerFast:
    """Learn an uncased WordPiece vocabulary (BERT conventions) from the given texts only."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=None, clean_text=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=hp.vocab_size, special_tokens=SPECIAL_TOKENS, min_frequency=2, show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=hp.max_length,
        model_input_names=["input_ids", "attention_mask"],
    )


def encode(tokenizer: PreTrainedTokenizerFast, texts: list[str], max_length: int) -> list[list[int]]:
    out: list[list[int]] = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    return out


def length_bucketed_batches(
    lengths: list[int], batch_size: int, rng: random.Random, shuffle: bool = True
) -> list[list[int]]:
    """Indices grouped into batches of similar length (less padding), batch order shuffled."""
    order = list(range(len(lengths)))
    if shuffle:
        rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    if shuffle:
        rng.shuffle(batches)
    return batches


def pad(seqs: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids, mask


def one_cycle(optimizer: torch.optim.Optimizer, total_steps: int, warmup_fraction: float) -> Any:
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, param in model.named_parameters():
        (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr)


def mask_tokens(
    ids: torch.Tensor, attention: torch.Tensor, tokenizer: PreTrainedTokenizerFast, probability: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: of the chosen tokens, 80 % [MASK], 10 % random, 10 % unchanged."""
    labels = ids.clone()
    special = (ids == tokenizer.cls_token_id) | (ids == tokenizer.sep_token_id) | (attention == 0)
    chosen = torch.bernoulli(torch.full(ids.shape, probability)).bool() & ~special
    labels[~chosen] = -100
    inputs = ids.clone()
    to_mask = torch.bernoulli(torch.full(ids.shape, 0.8)).bool() & chosen
    inputs[to_mask] = int(tokenizer.mask_token_id)
    to_random = torch.bernoulli(torch.full(ids.shape, 0.5)).bool() & chosen & ~to_mask
    inputs[to_random] = torch.randint(len(tokenizer), ids.shape)[to_random]
    return inputs, labels


LossFn = Callable[[list[int], torch.Tensor, torch.Tensor], torch.Tensor]


def run_epochs(
    model: torch.nn.Module,
    lengths: list[int],
    loss_fn: LossFn,
    epochs: int,
    lr: float,
    hp: HyperParams,
    rng: random.Random,
    pad_batch: Callable[[list[int]], tuple[torch.Tensor, torch.Tensor]],
    name: str,
    after_epoch: Callable[[int], None] | None = None,
) -> None:
    """The loop both phases share: length-bucketed batches, AdamW, one-cycle LR, clipping, a progress bar."""
    model.train()
    optimizer = make_optimizer(model, lr, hp.weight_decay)
    scheduler = one_cycle(optimizer, math.ceil(len(lengths) / hp.batch_size) * epochs, hp.warmup_fraction)
    for epoch in range(1, epochs + 1):
        bar = tqdm(
            length_bucketed_batches(lengths, hp.batch_size, rng),
            desc=f"{name} epoch {epoch}/{epochs}",
            unit="batch",
            file=sys.stderr,
        )
        running = 0.0
        for step, batch in enumerate(bar, start=1):
            ids, attention = pad_batch(batch)
            loss = loss_fn(batch, ids, attention)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running += float(loss)
            if step % 50 == 0:
                bar.set_postfix(loss=f"{running / 50:.3f}")
                running = 0.0
        if after_epoch is not None:
            after_epoch(epoch)


def pretrain_mlm(
    config: DistilBertConfig,
    tokenizer: PreTrainedTokenizerFast,
    sequences: list[list[int]],
    hp: HyperParams,
    rng: random.Random,
) -> dict[str, torch.Tensor]:
    """In-domain MLM on the training sentences; returns the DistilBERT encoder weights."""
    mlm = DistilBertForMaskedLM(config)
    pad_id = int(tokenizer.pad_token_id)

    def loss_fn(batch: list[int], ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        inputs, labels = mask_tokens(ids, attention, tokenizer, hp.mlm_probability)
        loss: torch.Tensor = mlm(input_ids=inputs, attention_mask=attention, labels=labels).loss
        return loss

    run_epochs(
        mlm,
        [len(s) for s in sequences],
        loss_fn,
        hp.mlm_epochs,
        hp.mlm_lr,
        hp,
        rng,
        lambda batch: pad([sequences[i] for i in batch], pad_id),
        "mlm",
    )
    return {k: v.detach().clone() for k, v in mlm.distilbert.state_dict().items()}


@torch.inference_mode()
def accuracy(
    model: DistilBertForSequenceClassification, sequences: list[list[int]], labels: list[int], pad_id: int
) -> float:
    model.eval()
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    correct = 0
    for start in range(0, len(order), 128):
        batch = order[start : start + 128]
        ids, attention = pad([sequences[i] for i in batch], pad_id)
        predicted = model(input_ids=ids, attention_mask=attention).logits.argmax(-1).tolist()
        correct += sum(int(p == labels[i]) for p, i in zip(predicted, batch, strict=True))
    model.train()
    return correct / len(sequences)


def finetune(
    config: DistilBertConfig,
    tokenizer: PreTrainedTokenizerFast,
    encoder_state: dict[str, torch.Tensor] | None,
    train: tuple[list[list[int]], list[int]],
    dev: tuple[list[list[int]], list[int]],
    hp: HyperParams,
    rng: random.Random,
    soft_targets: list[float] | None = None,
) -> tuple[DistilBertForSequenceClassification, list[dict[str, float]]]:
    """Fine-tune; with ``soft_targets`` (teacher P(positive) per example), distil: the loss is the mean
    of cross-entropy on the gold labels and on the teachers' probabilities."""
    model = DistilBertForSequenceClassification(config)
    if encoder_state is not None:
        model.distilbert.load_state_dict(encoder_state)
    sequences, labels = train
    pad_id = int(tokenizer.pad_token_id)
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"accuracy": -1.0, "state": None}

    def loss_fn(batch: list[int], ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        if hp.token_dropout > 0:
            ids, _ = mask_tokens(ids, attention, tokenizer, hp.token_dropout)
        logits = model(input_ids=ids, attention_mask=attention).logits
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([labels[i] for i in batch], dtype=torch.long))
        if soft_targets is not None:
            positive = torch.tensor([soft_targets[i] for i in batch])
            soft = torch.stack([1 - positive, positive], dim=-1)
            loss = 0.5 * loss + 0.5 * torch.sum(-soft * torch.log_softmax(logits, dim=-1), dim=-1).mean()
        return loss

    def select_on_dev(epoch: int) -> None:
        dev_acc = accuracy(model, dev[0], dev[1], pad_id)
        history.append({"epoch": epoch, "dev_accuracy": dev_acc})
        print(f"epoch {epoch}: dev accuracy {dev_acc:.4f}", file=sys.stderr, flush=True)
        if dev_acc > best["accuracy"]:
            best.update(accuracy=dev_acc, state={k: v.detach().clone() for k, v in model.state_dict().items()})

    run_epochs(
        model,
        [len(s) for s in sequences],
        loss_fn,
        hp.epochs,
        hp.lr,
        hp,
        rng,
        lambda batch: pad([sequences[i] for i in batch], pad_id),
        "classifier",
        after_epoch=select_on_dev,
    )
    best_state = best["state"]
    assert best_state is not None
    model.load_state_dict(best_state)
    model.eval()
    return model, history


def teacher_probabilities(teachers: list[Path], texts: list[str]) -> list[float]:
    """Mean P(POSITIVE) of the teacher models, computed through the serving code."""
    from model.code import inference

    total = [0.0] * len(texts)
    for teacher in teachers:
        loaded = inference.model_fn(str(teacher))
        for start in tqdm(range(0, len(texts), 512), desc=f"teacher {teacher.name}", unit="batch", file=sys.stderr):
            chunk = texts[start : start + 512]
            for offset, p in enumerate(inference.predict_fn({"inputs": chunk, "parameters": {}}, loaded)):
                total[start + offset] += p["score"] if p["label"] == "POSITIVE" else 1.0 - p["score"]
    return [t / len(teachers) for t in total]


def write_model_card(out: Path, record: dict[str, Any]) -> None:
    hp = record["hyperparameters"]
    best = max(record["history"], key=lambda h: h["dev_accuracy"])
    per_epoch = ", ".join(f"{h['dev_accuracy'] * 100:.2f}" for h in record["history"])
    lines = [
        "---",
        "language: en",
        "license: apache-2.0",
        "pipeline_tag: text-classification",
        "datasets: [glue/sst2]",
        "---",
        "",
        "# SentimentPulse embedded sentiment model",
        "",
        "A small `DistilBertForSequenceClassification` (labels NEGATIVE / POSITIVE) with its own uncased",
        "WordPiece vocabulary, trained from scratch by `make train` so the project answers offline.",
        "It is not the production model (`distilbert/distilbert-base-uncased-finetuned-sst-2-english`,",
        "which these machines cannot download).",
        "",
        "## Measured",
        "",
        f"- SST-2 dev accuracy of this checkpoint: **{best['dev_accuracy'] * 100:.2f} %** "
        f"(epoch {int(best['epoch'])} of {hp['epochs']}, chosen on dev)",
        f"- per-epoch dev accuracy: {per_epoch}",
        f"- parameters: {record['parameters']:,}",
        f"- training time: {record['training_seconds'] / 60:.1f} min on {record['machine']}",
        "",
        "`make eval DATA=<path>/dev.tsv` re-measures accuracy, F1 and the confusion matrix through the",
        "serving code (`model/code/inference.py`).",
        "",
        "## Data (read from ../shared/data at training time, never copied)",
        "",
        "| file | sha256 | rows |",
        "|---|---|---|",
    ]
    for name, info in record["data"].items():
        lines.append(f"| {name} | `{info['sha256']}` | {info['rows']} |")
    lines += [
        "",
        "Training uses `train.tsv` only (vocabulary, MLM pretraining, fine-tuning); `dev.tsv` is used only",
        "to pick the best epoch.",
        "",
        "## Hyper-parameters",
        "",
        "| name | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in hp.items()]
    lines += [
        "",
        f"Versions: torch {record['versions']['torch']}, transformers {record['versions']['transformers']}, "
        f"Python {record['versions']['python']}.",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


def train(
    data_dir: Path, out: Path, hp: HyperParams, limit: int | None = None, teachers: list[Path] | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    set_seed(hp.seed)
    rng = random.Random(hp.seed)
    train_path, dev_path = data_dir / "train.tsv", data_dir / "dev.tsv"
    train_examples: list[Example] = read_tsv(train_path)
    dev_examples: list[Example] = read_tsv(dev_path)
    if limit is not None:
        train_examples = rng.sample(train_examples, min(limit, len(train_examples)))
        dev_examples = dev_examples[:limit]
    print(f"train {len(train_examples)} examples, dev {len(dev_examples)}", file=sys.stderr)

    tokenizer = build_tokenizer([e.text for e in train_examples], hp)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=hp.dim,
        n_layers=hp.n_layers,
        n_heads=hp.n_heads,
        hidden_dim=hp.hidden_dim,
        max_position_embeddings=hp.max_length,
        dropout=hp.dropout,
        attention_dropout=hp.dropout,
        seq_classif_dropout=hp.seq_classif_dropout,
        pad_token_id=tokenizer.pad_token_id,
        id2label=dict(LABELS),
        label2id={v: k for k, v in LABELS.items()},
    )
    train_seqs = encode(tokenizer, [e.text for e in train_examples], hp.max_length)
    dev_seqs = encode(tokenizer, [e.text for e in dev_examples], hp.max_length)

    encoder_state = None
    if hp.mlm_epochs > 0:
        unique = list(dict.fromkeys(e.text for e in train_examples))
        encoder_state = pretrain_mlm(config, tokenizer, encode(tokenizer, unique, hp.max_length), hp, rng)
    soft = teacher_probabilities(teachers, [e.text for e in train_examples]) if teachers else None
    model, history = finetune(
        config,
        tokenizer,
        encoder_state,
        (train_seqs, [e.label for e in train_examples]),
        (dev_seqs, [e.label for e in dev_examples]),
        hp,
        rng,
        soft_targets=soft,
    )

    out.mkdir(parents=True, exist_ok=True)
    model.config.architectures = ["DistilBertForSequenceClassification"]
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    record: dict[str, Any] = {
        "hyperparameters": asdict(hp),
        "history": history,
        "dev_accuracy": max(h["dev_accuracy"] for h in history),
        "parameters": sum(p.numel() for p in model.parameters()),
        "training_seconds": round(time.perf_counter() - started, 1),
        "machine": f"{platform.machine()} {torch.get_num_threads()} threads",
        "limit": limit,
        "teachers": [str(t) for t in teachers or []],
        "data": {
            p.name: {"sha256": sha256_file(p), "rows": n}
            for p, n in ((train_path, len(train_examples)), (dev_path, len(dev_examples)))
        },
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
    }
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    write_model_card(out, record)
    return record


def main(argv: list[str] | None = None) -> int:
    defaults = HyperParams()
    parser = argparse.ArgumentParser(
        prog="python -m model.training.train",
        description="Train the embedded sentiment model on SST-2 train.tsv, select on dev.tsv.",
    )
    parser.add_argument("--data", type=Path, required=True, help="directory holding train.tsv and dev.tsv")
    parser.add_argument("--out", type=Path, required=True, help="output model directory")
    parser.add_argument("--epochs", type=int, default=defaults.epochs, help="classifier epochs")
    parser.add_argument("--mlm-epochs", type=int, default=defaults.mlm_epochs, help="MLM pretraining epochs")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr, help="classifier peak learning rate")
    parser.add_argument("--dropout", type=float, default=defaults.dropout, help="hidden and attention dropout")
    parser.add_argument(
        "--token-dropout", type=float, default=defaults.token_dropout, help="share of tokens masked while fine-tuning"
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--limit", type=int, default=None, help="use only N examples (smoke runs)")
    parser.add_argument(
        "--teachers",
        type=Path,
        nargs="*",
        default=None,
        help="model directories whose averaged predictions on train.tsv are distilled into this model",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.mlm_epochs < 0:
        parser.error("--mlm-epochs must be 0 or more")
    if args.threads:
        torch.set_num_threads(args.threads)
    if not (0.0 <= args.dropout < 1.0 and 0.0 <= args.token_dropout < 1.0):
        parser.error("--dropout and --token-dropout must be in [0, 1)")
    hp = HyperParams(
        epochs=args.epochs,
        mlm_epochs=args.mlm_epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        dropout=args.dropout,
        token_dropout=args.token_dropout,
        seed=args.seed,
    )
    try:
        record = train(args.data, args.out, hp, limit=args.limit, teachers=args.teachers)
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"saved {args.out} (best dev accuracy {record['dev_accuracy'] * 100:.2f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
