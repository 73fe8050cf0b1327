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


def fine_tune(
    model: Any, train: Encoded, dev: Encoded, hp: HyperParams, pad_id: int, work: Path, stop_after: int | None = None
) -> dict[str, Any]:
    """Train ``model`` in place; returns the state (history, best step, ``finished``).

    ``work`` holds ``checkpoint.pt`` (resume point) and ``best.pt`` (best dev weights so far). With
    ``stop_after``, the run checkpoints and returns after that many steps (``finished`` False); the
    next call resumes there. When finished, the best dev state is loaded into ``model``.
    """
    work.mkdir(parents=True, exist_ok=True)
    n_layers = int(model.config.num_hidden_layers)
    lengths = [len(s) for s in train.sequences]
    steps_per_epoch = math.ceil(len(lengths) / hp.batch_size)
    total = steps_per_epoch * hp.epochs
    optimizer = make_optimizer(model, hp, n_layers)
    scheduler = linear_schedule(optimizer, total, hp.warmup_fraction)
    state: dict[str, Any] = {"step": 0, "best_accuracy": -1.0, "best_step": 0, "history": [], "seconds": 0.0}

    checkpoint = work / CHECKPOINT
    if checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["hyperparameters"] != asdict(hp):
            raise ValueError(f"{checkpoint} was written with other hyper-parameters; delete {work} to start over")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        state = saved["state"]
        print(f"resuming from {checkpoint} at step {state['step']}/{total}", file=sys.stderr, flush=True)

    def evaluate_and_checkpoint(step: int, loss: float) -> None:
        dev_acc = model_accuracy(model, dev, pad_id)
        state["history"].append(
            {"step": step, "epoch": round(step / steps_per_epoch, 2), "loss": loss, "dev_accuracy": dev_acc}
        )
        if dev_acc > state["best_accuracy"]:
            state.update(best_accuracy=dev_acc, best_step=step)
            _save_atomic(model.state_dict(), work / BEST)
        if hp.soup:
            (work / SNAPSHOTS).mkdir(exist_ok=True)
            _save_atomic(model.state_dict(), work / SNAPSHOTS / f"step-{step:06d}.pt")
        state["step"] = step
        _save_atomic(
            {
                "hyperparameters": asdict(hp),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "state": state,
            },
            checkpoint,
        )
        tqdm.write(
            f"step {step}/{total}: loss {loss:.4f}, dev accuracy {dev_acc * 100:.2f} % "
            f"(best {state['best_accuracy'] * 100:.2f} % at step {state['best_step']})",
            file=sys.stderr,
        )

    model.train()
    bar = tqdm(total=total, initial=state["step"], desc="fine-tune", unit="step", file=sys.stderr)
    step, running, count = state["step"], 0.0, 0
    stop_at = step + stop_after if stop_after else total
    started = time.perf_counter() - state["seconds"]
    for epoch in range(step // steps_per_epoch, hp.epochs):
        batches = epoch_batches(lengths, hp.batch_size, hp.seed, epoch)
        for batch in batches[step - epoch * steps_per_epoch :]:
            ids, mask = collate([train.sequences[i] for i in batch], pad_id)
            target = torch.tensor([train.labels[i] for i in batch], dtype=torch.long)
            loss = torch.nn.functional.cross_entropy(model(input_ids=ids, attention_mask=mask).logits, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            running, count = running + loss.item(), count + 1
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{running / count:.4f}")
            if step % hp.eval_every == 0 or step in (total, stop_at):
                state["seconds"] = time.perf_counter() - started
                evaluate_and_checkpoint(step, running / count)
                running, count = 0.0, 0
            if step == stop_at < total:
                bar.close()
                return {**state, "finished": False}
    bar.close()
    state["seconds"] = time.perf_counter() - started
    model.load_state_dict(torch.load(work / BEST, weights_only=True))
    model.eval()
    return {**state, "finished": True}


def ranked_snapshots(history: list[dict[str, Any]], work: Path) -> list[tuple[int, float, Path]]:
    """(step, dev accuracy, weights) of every evaluation, best first: what the soup averages over."""
    return sorted(
        ((h["step"], h["dev_accuracy"], work / SNAPSHOTS / f"step-{h['step']:06d}.pt") for h in history),
        key=lambda item: (-item[1], item[0]),
    )
