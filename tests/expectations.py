"""What every recorded event in events/ must get back: one table for every path that replays them
(the handler in-process, the local stack over HTTP, and SAM CLI in Docker)."""

from __future__ import annotations

SEED = "This product is amazing, I loved it!"
BATCH = [SEED, "This was a terrible waste of money.", "An absolute joy from start to finish."]

# file -> (status, error code or None, texts sent to the model or None)
EXPECTED: dict[str, tuple[int, str | None, list[str] | None]] = {
    "predict-seed.json": (200, None, [SEED]),
    "predict-seed-sam-local.json": (200, None, [SEED]),
    "predict-base64-body.json": (200, None, [SEED]),
    "predict-batch.json": (200, None, BATCH),
    "predict-empty-text.json": (422, "VALIDATION_ERROR", None),
    "predict-missing-field.json": (422, "VALIDATION_ERROR", None),
    "predict-wrong-types.json": (422, "VALIDATION_ERROR", None),
    "predict-invalid-json.json": (400, "INVALID_JSON", None),
    "predict-too-many-texts.json": (422, "VALIDATION_ERROR", None),
    "predict-text-too-long.json": (422, "VALIDATION_ERROR", None),
    "predict-wrong-method.json": (405, "METHOD_NOT_ALLOWED", None),
    "predict-wrong-content-type.json": (415, "UNSUPPORTED_MEDIA_TYPE", None),
    "unknown-path.json": (404, "NOT_FOUND", None),
    "openapi.json": (200, None, None),
}
