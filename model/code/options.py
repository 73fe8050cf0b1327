"""What a request asks of the model (its ``parameters``), the refusals, and how logits become answers.

Ships in ``code/`` beside ``inference.py``. Parameters are named and behave as in the transformers
text-classification pipeline, whose wire format the Hugging Face DLC speaks:
  truncation         true (default): cut each text to the model's maximum length; false: refuse
                     texts longer than it (SP_TOO_LONG, naming each text and its token count)
  top_k              absent: one ``{label, score}`` per text; an integer k: the k best labels per text,
                     best first (more than the model has: every label, as the pipeline slices); null:
                     every label
  function_to_apply  softmax (default) | sigmoid | none (raw logits)
  max_total_tokens   the request's token budget after truncation (SP_TOKEN_BUDGET)
  info               true: answer which model and code serve instead of predicting (no inputs)

Every error message starts with a code the Lambda maps to its status (README, "How inference.py
reports errors"), because the toolkit answers 400 for any exception a hook raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

BAD_INPUT = "SP_BAD_INPUT"
MODEL_FAILURE = "SP_MODEL_FAILURE"
OVER_BUDGET = "SP_TOKEN_BUDGET"
TOO_LONG = "SP_TOO_LONG"
FUNCTIONS = ("softmax", "sigmoid", "none")


class InputError(ValueError):
    """The request payload is wrong (the caller's fault)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{BAD_INPUT}: {message}")


class TokenBudgetExceeded(InputError):
    """The request's texts hold more tokens (after truncation) than ``max_total_tokens``."""

    def __init__(self, tokens: int, budget: int) -> None:
        super().__init__(f"{OVER_BUDGET}: {tokens} tokens over the budget of {budget}")
        self.tokens, self.budget = tokens, budget


class TextsTooLong(InputError):
    """``truncation`` is false and these texts (index, tokens) are longer than the model reads."""

    def __init__(self, over: list[tuple[int, int]], max_length: int) -> None:
        texts = ",".join(f"{index}:{tokens}" for index, tokens in over)
        super().__init__(f"{TOO_LONG}: max_length={max_length} texts={texts}")


class ModelFailure(RuntimeError):
    """The model could not produce predictions (our fault)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{MODEL_FAILURE}: {message}")


@dataclass(frozen=True)
class Options:
    truncation: bool = True
    ranked: bool = False  # top_k given: a list of labels per text
    top_k: int | None = None  # with ranked: None = every label
    function_to_apply: str = "softmax"
    max_total_tokens: int | None = None
    info: bool = False

    @classmethod
    def parse(cls, parameters: Any) -> Options:
        if parameters is None:
            parameters = {}
        if not isinstance(parameters, dict):
            raise InputError('"parameters" must be an object')
        truncation = parameters.get("truncation", True)
        if not isinstance(truncation, bool):
            raise InputError('"parameters.truncation" must be true or false')
        top_k = parameters.get("top_k")
        if top_k is not None and not _positive_int(top_k):
            raise InputError('"parameters.top_k" must be a positive integer or null')
        function = parameters.get("function_to_apply", "softmax")
        if function not in FUNCTIONS:
            raise InputError(f'"parameters.function_to_apply" must be one of {", ".join(FUNCTIONS)}')
        budget = parameters.get("max_total_tokens")
        if budget is not None and not _positive_int(budget):
            raise InputError('"parameters.max_total_tokens" must be a positive integer')
        info = parameters.get("info", False)
        if not isinstance(info, bool):
            raise InputError('"parameters.info" must be true or false')
        return cls(truncation, "top_k" in parameters, top_k, function, budget, info)

    def answer(self, logits: torch.Tensor, id2label: dict[int, str]) -> Any:
        """One text's answer from its logits (1-D): ``{label, score}``, or ranked labels."""
        logits = logits.float()
        if self.function_to_apply == "softmax":
            scores = torch.softmax(logits, dim=-1)
        elif self.function_to_apply == "sigmoid":
            scores = torch.sigmoid(logits)
        else:
            scores = logits
        if not self.ranked:
            score, index = scores.max(dim=-1)
            return {"label": id2label[int(index)], "score": float(score)}
        order = torch.argsort(scores, descending=True, stable=True).tolist()[: self.top_k]
        return [{"label": id2label[i], "score": float(scores[i])} for i in order]


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
