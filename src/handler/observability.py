"""Logger, Metrics and (when tracing is on) Tracer, created once per container and shared by every module."""

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
metrics = Metrics()

# Powertools' Tracer imports the X-Ray SDK (and wrapt) even to switch itself off, which costs the
# cold start time for nothing. So the tracer exists only when tracing is on, decided by
# Powertools' own rule (POWERTOOLS_TRACE_DISABLED, sam local, outside Lambda); the template sets
# POWERTOOLS_TRACE_DISABLED from TracingMode.
# When on, it patches botocore only: the one library this function calls out through (the endpoint
# call becomes a subsegment). Powertools' default patches every library the X-Ray SDK supports,
# which imports sqlite3, pymongo's and the database drivers' hooks at cold start for nothing.
TRACED_MODULES = ("botocore",)
tracer: Tracer | None = None if Tracer._is_tracer_disabled() else Tracer(patch_modules=TRACED_MODULES)

F = TypeVar("F", bound=Callable[..., Any])


def capture_lambda_handler(handler: F) -> F:
    """Tracer.capture_lambda_handler (response not captured) when tracing is on; else the handler."""
    return handler if tracer is None else tracer.capture_lambda_handler(capture_response=False)(handler)


def capture_method(method: F) -> F:
    """Tracer.capture_method (response not captured) when tracing is on; else the method."""
    return method if tracer is None else tracer.capture_method(capture_response=False)(method)


# Error responses publish their metric through single_metric (it carries an ErrorCode dimension), so
# the per-request metric set is legitimately empty on those paths: silence Powertools' warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
