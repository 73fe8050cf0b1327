"""Greedy weight averaging ("model soup", Wortsman et al. 2022) over the run's own checkpoints.

Checkpoints are ranked by dev accuracy; starting from the best one, each next checkpoint joins the
average only if the averaged weights do at least as well on dev. Selection uses dev.tsv only, like
choosing the best checkpoint does, and the result is one ordinary set of weights (no ensemble cost).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from model.training.data import Encoded
from model.training.evaluate import model_accuracy


def _load(path: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(path, weights_only=True)
    return state


def _mean(total: dict[str, torch.Tensor], count: int) -> dict[str, torch.Tensor]:
    return {name: t / count if t.is_floating_point() else t for name, t in total.items()}


def _add(total: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: t + state[name] if t.is_floating_point() else t for name, t in total.items()}


def greedy(model: Any, ranked: list[tuple[int, float, Path]], dev: Encoded, pad_id: int) -> dict[str, Any]:
    """``ranked``: (step, dev accuracy, snapshot) best first. Loads the soup into ``model``; returns its record.

    Each snapshot is read once; the soup is kept as a running sum of its members' weights.
    """
    steps = [ranked[0][0]]
    total = _load(ranked[0][2])
    best = ranked[0][1]
    for step, _, path in ranked[1:]:
        candidate = _add(total, _load(path))
        model.load_state_dict(_mean(candidate, len(steps) + 1))
        score = model_accuracy(model, dev, pad_id)
        kept = score >= best
        print(f"soup: + step {step} -> dev accuracy {score * 100:.2f} % ({'kept' if kept else 'dropped'})",
              file=sys.stderr, flush=True)  # fmt: skip
        if kept:
            steps.append(step)
            total, best = candidate, score
    model.load_state_dict(_mean(total, len(steps)))
    return {"steps": steps, "dev_accuracy": best}
