"""Business logic: one endpoint call per request, and what we measure about it."""

from __future__ import annotations

import time
from collections import Counter
from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

from .contract import Prediction, PredictRequest
from .endpoint import ModelPrediction
from .observability import capture_method, logger, metrics


class Classifier(Protocol):
    def classify(self, texts: list[str]) -> list[ModelPrediction]: ...


@capture_method
def predict(request: PredictRequest, classifier: Classifier) -> list[Prediction]:
    texts = request.as_texts()
    metrics.add_metric(name="TextsPerRequest", unit=MetricUnit.Count, value=len(texts))
    started = time.perf_counter()
    predictions = [Prediction(label=p.label, score=p.score) for p in classifier.classify(texts)]
    latency_ms = (time.perf_counter() - started) * 1000
    metrics.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    labels = Counter(p.label for p in predictions)
    for label, count in sorted(labels.items()):
        metrics.add_metric(name=f"Label{label.title()}", unit=MetricUnit.Count, value=count)
    # Never log the texts themselves: counts and lengths only.
    logger.info(
        "prediction",
        extra={
            "texts": len(texts),
            "chars": sum(len(t) for t in texts),
            "max_chars": max(len(t) for t in texts),
            "model_latency_ms": round(latency_ms, 2),
            "labels": dict(labels),
        },
    )
    return predictions
