"""The fine-tuning loop: length-bucketed batches, AdamW with layer-wise LR decay, linear warm-up and
decay, dev evaluation every ``eval_every`` steps, the best dev checkpoint kept, stop and resume.

Resuming is exact: the batch order of each epoch is a pure function of (seed, epoch), and the
checkpoint holds model, optimizer, scheduler and RNG states plus the step reached. Checkpoints are
written to a temporary file and renamed, so an interrupted write never destroys the last good one.
"""

from __future__ import annotations

import math
import random
import re
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from model.code.passes import collate
from model.training.data import Encoded
from model.training.evaluate import model_accuracy

CHECKPOINT = "checkpoint.pt"
BEST = "best.pt"
SNAPSHOTS = "snapshots"  # the weights at every evaluation, for the soup


@dataclass(frozen=True)
class HyperParams:
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-4
    layer_decay: float = 0.9  # LR multiplier per layer below the top (1.0 = off)
    weight_decay: float = 0.01
    warmup_fraction: float = 0.06
    train_max_length: int = 128  # SST-2 train phrases are at most ~70 tokens
    eval_every: int = 500
    soup: bool = True  # greedy weight averaging over the evaluated checkpoints (soup.py), chosen on dev
    seed: int = 13


def epoch_batches(lengths: list[int], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Indices in batches of similar length (little padding); the order depends only on (seed, epoch)."""
    rng = random.Random(seed * 1_000 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def layer_of(name: str, n_layers: int) -> int:
    """0 for embeddings, 1..n for encoder layer i-1, n+1 for the pooler and classifier head."""
    if "embeddings" in name:
        return 0
    match = re.search(r"\.layer\.(\d+)\.", name)
    return int(match.group(1)) + 1 if match else n_layers + 1


def make_optimizer(model: torch.nn.Module, hp: HyperParams, n_layers: int) -> torch.optim.AdamW:
    groups: dict[tuple[int, bool], list[torch.nn.Parameter]] = {}
    for name, param in model.named_parameters():
        no_decay = param.ndim < 2 or "LayerNorm" in name
        groups.setdefault((layer_of(name, n_layers), no_decay), []).append(param)
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "lr": hp.lr * hp.layer_decay ** (n_layers + 1 - layer),
                "weight_decay": 0.0 if no_decay else hp.weight_decay,
            }
            for (layer, no_decay), params in sorted(groups.items())
        ]
    )


def linear_schedule(optimizer: torch.optim.Optimizer, total: int, warmup_fraction: float) -> Any:
    warmup = max(1, int(total * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _save_atomic(obj: Any, path: Path) -> None:
    partial = path.with_suffix(".partial")
    torch.save(obj, partial)
    partial.replace(path)


@dataclass
class _Run:
    """One fine-tuning run's moving parts, and the state its checkpoints carry."""

    model: Any
    hp: HyperParams
    work: Path
    optimizer: torch.optim.Optimizer
    scheduler: Any
    steps_per_epoch: int
    total: int
    state: dict[str, Any]

    def resume(self) -> None:
        checkpoint = self.work / CHECKPOINT
        if not checkpoint.is_file():
            return
        saved = torch.load(checkpoint, weights_only=False)
        if saved["hyperparameters"] != asdict(self.hp):
            raise ValueError(f"{checkpoint} was written with other hyper-parameters; delete {self.work} to start over")
        self.model.load_state_dict(saved["model"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        self.state = saved["state"]
        print(f"resuming from {checkpoint} at step {self.state['step']}/{self.total}", file=sys.stderr, flush=True)

    def step(self, train: Encoded, batch: list[int], pad_id: int) -> float:
        ids, mask = collate([train.sequences[i] for i in batch], pad_id)
        target = torch.tensor([train.labels[i] for i in batch], dtype=torch.long)
        loss = torch.nn.functional.cross_entropy(self.model(input_ids=ids, attention_mask=mask).logits, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.item())

    def evaluate_and_checkpoint(self, step: int, loss: float, dev: Encoded, pad_id: int) -> None:
        state, model = self.state, self.model
        dev_acc = model_accuracy(model, dev, pad_id)
        epoch = round(step / self.steps_per_epoch, 2)
        state["history"].append({"step": step, "epoch": epoch, "loss": loss, "dev_accuracy": dev_acc})
        if dev_acc > state["best_accuracy"]:
            state.update(best_accuracy=dev_acc, best_step=step)
            _save_atomic(model.state_dict(), self.work / BEST)
        if self.hp.soup:
            (self.work / SNAPSHOTS).mkdir(exist_ok=True)
            _save_atomic(model.state_dict(), self.work / SNAPSHOTS / f"step-{step:06d}.pt")
        state["step"] = step
        saved = {
            "hyperparameters": asdict(self.hp),
            "model": model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "state": state,
        }
        _save_atomic(saved, self.work / CHECKPOINT)
        tqdm.write(
            f"step {step}/{self.total}: loss {loss:.4f}, dev accuracy {dev_acc * 100:.2f} % "
            f"(best {state['best_accuracy'] * 100:.2f} % at step {state['best_step']})",
            file=sys.stderr,
        )


def fine_tune(
    model: Any, train: Encoded, dev: Encoded, hp: HyperParams, pad_id: int, work: Path, stop_after: int | None = None
) -> dict[str, Any]:
    """Train ``model`` in place; returns the state (history, best step, ``finished``).

    ``work`` holds ``checkpoint.pt`` (resume point) and ``best.pt`` (best dev weights so far). With
    ``stop_after``, the run checkpoints and returns after that many steps (``finished`` False); the
    next call resumes there. When finished, the best dev state is loaded into ``model``.
    """
    work.mkdir(parents=True, exist_ok=True)
    lengths = [len(s) for s in train.sequences]
    steps_per_epoch = math.ceil(len(lengths) / hp.batch_size)
    total = steps_per_epoch * hp.epochs
    optimizer = make_optimizer(model, hp, int(model.config.num_hidden_layers))
    scheduler = linear_schedule(optimizer, total, hp.warmup_fraction)
    state: dict[str, Any] = {"step": 0, "best_accuracy": -1.0, "best_step": 0, "history": [], "seconds": 0.0}
    run = _Run(model, hp, work, optimizer, scheduler, steps_per_epoch, total, state)
    run.resume()

    model.train()
    bar = tqdm(total=total, initial=run.state["step"], desc="fine-tune", unit="step", file=sys.stderr)
    step, running, count = run.state["step"], 0.0, 0
    stop_at = step + stop_after if stop_after else total
    started = time.perf_counter() - run.state["seconds"]
    for epoch in range(step // steps_per_epoch, hp.epochs):
        batches = epoch_batches(lengths, hp.batch_size, hp.seed, epoch)
        for batch in batches[step - epoch * steps_per_epoch :]:
            loss = run.step(train, batch, pad_id)
            step += 1
            running, count = running + loss, count + 1
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{running / count:.4f}")
            if step % hp.eval_every == 0 or step in (total, stop_at):
                run.state["seconds"] = time.perf_counter() - started
                run.evaluate_and_checkpoint(step, running / count, dev, pad_id)
                running, count = 0.0, 0
            if step == stop_at < total:
                bar.close()
                return {**run.state, "finished": False}
    bar.close()
    run.state["seconds"] = time.perf_counter() - started
    model.load_state_dict(torch.load(work / BEST, weights_only=True))
    model.eval()
    return {**run.state, "finished": True}


def ranked_snapshots(history: list[dict[str, Any]], work: Path) -> list[tuple[int, float, Path]]:
    """(step, dev accuracy, weights) of every evaluation, best first: what the soup averages over."""
    return sorted(
        ((h["step"], h["dev_accuracy"], work / SNAPSHOTS / f"step-{h['step']:06d}.pt") for h in history),
        key=lambda item: (-item[1], item[0]),
    )
