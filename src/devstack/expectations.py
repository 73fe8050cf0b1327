"""What each recorded event in events/ must get back: one table for every path that replays them
(the handler in-process, the local stack over HTTP, and SAM CLI in Docker)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SEED = "This product is amazing, I loved it!"
NEGATIVE = "This was a terrible waste of money."
BATCH = [SEED, NEGATIVE, "An absolute joy from start to finish."]


@dataclass(frozen=True)
class Expected:
    status: int
    code: str | None = None  # the error envelope's code
    texts: tuple[str, ...] | None = None  # what reaches the model, in order
    labels: tuple[str, ...] | None = None  # what any good sentiment model answers for them

    def mismatch(self, status: int, body: bytes | str) -> str | None:
        """None when (status, body) is what this event must get, else what differs."""
        if status != self.status:
            return f"status {status}, expected {self.status}"
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            return "body is not JSON"
        if self.code is not None:
            if not isinstance(parsed, dict) or set(parsed) != {"error"} or parsed["error"].get("code") != self.code:
                return f"expected error code {self.code}, got {str(parsed)[:120]}"
            return None
        if self.texts is None:  # the OpenAPI document
            ok = isinstance(parsed, dict) and str(parsed.get("openapi", "")).startswith("3.")
            return None if ok and "/predict" in parsed.get("paths", {}) else "not an OpenAPI 3 document"
        if not isinstance(parsed, list) or len(parsed) != len(self.texts):
            return f"expected {len(self.texts)} predictions, got {str(parsed)[:120]}"
        if any(set(p) != {"label", "score"} or not 0.0 <= p["score"] <= 1.0 for p in parsed):
            return f"predictions are not {{label, score}} in [0, 1]: {str(parsed)[:120]}"
        labels = tuple(p["label"] for p in parsed)
        return None if labels == self.labels else f"labels {labels}, expected {self.labels}"


def _ok(*texts: str) -> Expected:
    labels = tuple("NEGATIVE" if text == NEGATIVE else "POSITIVE" for text in texts)
    return Expected(200, texts=texts, labels=labels)


EXPECTED: dict[str, Expected] = {
    "predict-seed.json": _ok(SEED),
    "predict-seed-sam-local.json": _ok(SEED),
    "predict-base64-body.json": _ok(SEED),
    "predict-batch.json": _ok(*BATCH),
    "predict-empty-text.json": Expected(422, "VALIDATION_ERROR"),
    "predict-missing-field.json": Expected(422, "VALIDATION_ERROR"),
    "predict-wrong-types.json": Expected(422, "VALIDATION_ERROR"),
    "predict-invalid-json.json": Expected(400, "INVALID_JSON"),
    "predict-too-many-texts.json": Expected(422, "VALIDATION_ERROR"),
    "predict-text-too-long.json": Expected(422, "VALIDATION_ERROR"),
    "predict-wrong-method.json": Expected(405, "METHOD_NOT_ALLOWED"),
    "predict-wrong-content-type.json": Expected(415, "UNSUPPORTED_MEDIA_TYPE"),
    "unknown-path.json": Expected(404, "NOT_FOUND"),
    "openapi.json": Expected(200),
}
