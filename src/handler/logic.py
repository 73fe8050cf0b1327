"""Business logic: one endpoint call per request, and what we measure about it."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from .contract import (
    MAX_REQUEST_TOKENS,
    MAX_TEXT_CHARS,
    MAX_TEXTS,
    CodeInfo,
    Health,
    Info,
    Limits,
    ModelInfo,
    Prediction,
    PredictRequest,
)
from .endpoint import Classified
from .exceptions import ModelUnavailableError, TextTooLongError
from .model_wire import ModelReport, Scoring, Usage
from .observability import capture_method, logger, metrics

IN_SERVICE = "InService"


class Classifier(Protocol):
    def classify(self, texts: list[str], scoring: Scoring | None = None) -> Classified: ...

    def report(self) -> ModelReport: ...

    def status(self) -> str: ...


@capture_method
def predict(request: PredictRequest, classifier: Classifier) -> tuple[list[Any], Usage]:
    """Per text: a Prediction, or with ``top_k`` a list of them, best first; and what the call computed."""
    texts = request.as_texts()
    metrics.add_metric(name="TextsPerRequest", unit=MetricUnit.Count, value=len(texts))
    scoring = Scoring(request.top_k, request.function_to_apply, request.truncate)
    started = time.perf_counter()
    try:
        classified = classifier.classify(texts, scoring)
    except TextTooLongError as exc:
        if request.text is not None and exc.fields:  # one `text`: name the field the caller sent
            exc.fields = [("text", issue) for _, issue in exc.fields]
        raise
    latency_ms = (time.perf_counter() - started) * 1000
    metrics.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    answers: list[Any] = [
        [Prediction(label=p.label, score=p.score) for p in entry]
        if isinstance(entry, list)
        else Prediction(label=entry.label, score=entry.score)
        for entry in classified.predictions
    ]
    labels = Counter((entry[0] if isinstance(entry, list) else entry).label for entry in answers)
    for label, count in sorted(labels.items()):
        metrics.add_metric(name=f"Label{label.title()}", unit=MetricUnit.Count, value=count)
    usage = classified.usage
    if usage.tokens is not None:
        metrics.add_metric(name="TokensComputed", unit=MetricUnit.Count, value=usage.tokens)
    if usage.truncated is not None:
        metrics.add_metric(name="TextsTruncated", unit=MetricUnit.Count, value=usage.truncated)
    # Never log the texts themselves: counts and lengths only.
    logger.info(
        "prediction",
        extra={
            "texts": len(texts),
            "chars": sum(len(t) for t in texts),
            "max_chars": max(len(t) for t in texts),
            "tokens": usage.tokens,
            "truncated": usage.truncated,
            "model_latency_ms": round(latency_ms, 2),
            "labels": dict(labels),
        },
    )
    return answers, usage


@capture_method
def info(classifier: Classifier) -> Info:
    """Which model and code the endpoint serves (asked of the endpoint itself), and the request limits."""
    report = classifier.report()
    return Info(
        model=ModelInfo(id=report.model_id, revision=report.revision, name=report.name, labels=report.labels),
        code=CodeInfo(inference_sha256=report.inference_sha256, code_sha256=report.code_sha256, variant=report.variant),
        limits=Limits(
            max_texts=MAX_TEXTS,
            max_text_chars=MAX_TEXT_CHARS,
            max_request_tokens=MAX_REQUEST_TOKENS,
            max_length=report.max_length,
        ),
    )


def health(classifier: Classifier, endpoint_name: str, deep: bool) -> Health:
    """The function answers; with ``deep``, the endpoint must also be InService (DescribeEndpoint)."""
    if not deep:
        return Health()
    status = classifier.status()
    if status != IN_SERVICE:
        raise ModelUnavailableError(f"endpoint status {status[:32]}")
    return Health(endpoint=endpoint_name, endpoint_status=status)
