"""Logger, Tracer and Metrics, created once per container and shared by every module."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
