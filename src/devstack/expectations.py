"""What each recorded event in events/ must get back: one table for every path that replays them
(the handler in-process, the local stack over HTTP, and SAM CLI in Docker)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SEED = "This product is amazing, I loved it!"
NEGATIVE = "This was a terrible waste of money."
BATCH = [SEED, NEGATIVE, "An absolute joy from start to finish."]


LONG = "good movie " * 300  # 602 tokens for a BERT or DistilBERT tokenizer: over 512
USAGE_HEADERS = ("x-compute-tokens", "x-truncated-texts", "x-model-version")


@dataclass(frozen=True)
class Expected:
    """What one event must get back. ``kind`` says what a 200 holds: ``predictions`` (one
    ``{label, score}`` per text), ``ranked`` (a list of labels per text, best first), ``openapi``,
    ``health``, ``info`` or ``docs`` (the Swagger UI page)."""

    status: int
    code: str | None = None  # the error envelope's code
    texts: tuple[str, ...] | None = None  # what reaches the model, in order
    labels: tuple[str, ...] | None = None  # what any good sentiment model answers for them (the best label)
    kind: str = "predictions"
    parameters: tuple[tuple[str, Any], ...] = ()  # the request's scoring options, as the handler sends them
    scores: str = "probability"  # or "logit" (function_to_apply none): any finite number

    def mismatch(self, status: int, body: bytes | str, headers: dict[str, str] | None = None) -> str | None:
        """None when (status, body) is what this event must get, else what differs. With the response's
        ``headers`` (lower-case names), a 200 of predictions must also carry the usage headers."""
        if status != self.status:
            return f"status {status}, expected {self.status}"
        if self.kind == "docs":
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
            return None if "<html" in text and "SwaggerUIBundle" in text else "not the Swagger UI page"
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            return "body is not JSON"
        if self.code is not None:
            if not isinstance(parsed, dict) or set(parsed) != {"error"} or parsed["error"].get("code") != self.code:
                return f"expected error code {self.code}, got {str(parsed)[:120]}"
            return None
        if self.kind in _DOCUMENTS:
            return _DOCUMENTS[self.kind](parsed)
        if headers is not None and not all(name in headers for name in USAGE_HEADERS):
            return f"usage headers missing: {sorted(h for h in headers if h.startswith('x-'))}"
        return self._predictions(parsed)

    def _predictions(self, parsed: Any) -> str | None:
        assert self.texts is not None
        if not isinstance(parsed, list) or len(parsed) != len(self.texts):
            return f"expected {len(self.texts)} predictions, got {str(parsed)[:120]}"
        ranked = self.kind == "ranked"
        rows = parsed if ranked else [[p] for p in parsed]
        if ranked and any(not isinstance(row, list) or not row for row in rows):
            return f"expected a list of labels per text: {str(parsed)[:120]}"
        for row in rows:
            if any(not isinstance(p, dict) or set(p) != {"label", "score"} for p in row):
                return f"predictions are not {{label, score}}: {str(parsed)[:120]}"
            scores = [p["score"] for p in row]
            if self.scores == "probability" and not all(0.0 <= s <= 1.0 for s in scores):
                return f"scores outside [0, 1]: {scores}"
            if scores != sorted(scores, reverse=True):
                return f"labels not best first: {row}"
        labels = tuple(row[0]["label"] for row in rows)
        return None if labels == self.labels else f"labels {labels}, expected {self.labels}"


def _openapi(parsed: Any) -> str | None:
    ok = isinstance(parsed, dict) and str(parsed.get("openapi", "")).startswith("3.")
    return None if ok and "/predict" in parsed.get("paths", {}) else "not an OpenAPI 3 document"


def _health(parsed: Any) -> str | None:
    return None if isinstance(parsed, dict) and parsed.get("status") == "ok" else f"not healthy: {parsed}"


def _deep_health(parsed: Any) -> str | None:
    ok = isinstance(parsed, dict) and parsed.get("endpoint_status") == "InService"
    return _health(parsed) or (None if ok else f"endpoint not InService: {parsed}")


def _info(parsed: Any) -> str | None:
    try:
        code, limits, model = parsed["code"], parsed["limits"], parsed["model"]
        ok = len(code["inference_sha256"]) == 64 and limits["max_length"] > 0 and model["labels"] and model["id"]
    except (KeyError, TypeError):
        ok = False
    return None if ok else f"not an info document: {str(parsed)[:200]}"


_DOCUMENTS = {"openapi": _openapi, "health": _health, "deep-health": _deep_health, "info": _info}


def _ok(*texts: str, kind: str = "predictions", **parameters: Any) -> Expected:
    labels = tuple("NEGATIVE" if text == NEGATIVE else "POSITIVE" for text in texts)
    scores = "logit" if parameters.get("function_to_apply") == "none" else "probability"
    return Expected(200, texts=texts, labels=labels, kind=kind, parameters=tuple(parameters.items()), scores=scores)


EXPECTED: dict[str, Expected] = {
    "predict-seed.json": _ok(SEED),
    "predict-seed-sam-local.json": _ok(SEED),
    "predict-jwt-claims.json": _ok(SEED),  # claims as a JWT authorizer passes them (not over HTTP: none runs)
    "predict-base64-body.json": _ok(SEED),
    "predict-batch.json": _ok(*BATCH),
    "predict-top-k.json": _ok(SEED, kind="ranked", top_k=2),
    "predict-top-k-all-logits.json": _ok(SEED, NEGATIVE, kind="ranked", top_k="all", function_to_apply="none"),
    "predict-no-truncate-too-long.json": Expected(
        422, "TEXT_TOO_LONG", texts=(LONG,), parameters=(("truncate", False),)
    ),
    "predict-bad-top-k.json": Expected(422, "VALIDATION_ERROR"),
    "predict-empty-text.json": Expected(422, "VALIDATION_ERROR"),
    "predict-missing-field.json": Expected(422, "VALIDATION_ERROR"),
    "predict-wrong-types.json": Expected(422, "VALIDATION_ERROR"),
    "predict-invalid-json.json": Expected(400, "INVALID_JSON"),
    "predict-too-many-texts.json": Expected(422, "VALIDATION_ERROR"),
    "predict-text-too-long.json": Expected(422, "VALIDATION_ERROR"),
    "predict-wrong-method.json": Expected(405, "METHOD_NOT_ALLOWED"),
    "predict-wrong-content-type.json": Expected(415, "UNSUPPORTED_MEDIA_TYPE"),
    "unknown-path.json": Expected(404, "NOT_FOUND"),
    "openapi.json": Expected(200, kind="openapi"),
    "health.json": Expected(200, kind="health"),
    "health-deep.json": Expected(200, kind="deep-health"),
    "info.json": Expected(200, kind="info"),
    "docs.json": Expected(200, kind="docs"),
}
