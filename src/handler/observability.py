"""Logger, Tracer and Metrics, created once per container and shared by every module."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# Error responses publish their metric through single_metric (it carries an ErrorCode dimension), so
# the per-request metric set is legitimately empty on those paths: silence Powertools' warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
