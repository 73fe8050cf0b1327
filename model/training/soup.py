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

from model.training.loop import Encoded, accuracy


def average(paths: list[Path]) -> dict[str, torch.Tensor]:
    total: dict[str, torch.Tensor] = {}
    for path in paths:
        for name, tensor in torch.load(path, weights_only=True).items():
            if tensor.is_floating_point():
                total[name] = total.get(name, torch.zeros_like(tensor)) + tensor / len(paths)
            else:
                total[name] = tensor
    return total


def greedy(model: Any, ranked: list[tuple[int, float, Path]], dev: Encoded, pad_id: int) -> dict[str, Any]:
    """``ranked``: (step, dev accuracy, snapshot) best first. Loads the soup into ``model``; returns its record."""
    members = [ranked[0]]
    best = ranked[0][1]
    for candidate in ranked[1:]:
        model.load_state_dict(average([path for _, _, path in [*members, candidate]]))
        score = accuracy(model, dev, pad_id)
        kept = score >= best
        print(
            f"soup: + step {candidate[0]} -> dev accuracy {score * 100:.2f} % ({'kept' if kept else 'dropped'})",
            file=sys.stderr,
            flush=True,
        )
        if kept:
            members.append(candidate)
            best = score
    model.load_state_dict(average([path for _, _, path in members]))
    return {"steps": [step for step, _, _ in members], "dev_accuracy": best}
