"""The compute budget's arithmetic: does the worst request the API accepts fit on the smallest endpoint?

Inputs: the contract's ``MAX_REQUEST_TOKENS``; the handler's read timeout (``events/env.json``, the
template's value); and the seconds ``make bench`` measured for that request here, per inference path.
The worst accepted request must finish within half the read timeout (a 2x margin) on the smallest
endpoint the template allows: serverless at 3072 MB.

Assumptions, stated because AWS does not publish the figure: SageMaker Serverless Inference gives
CPU in proportion to memory, without saying how much. We use Lambda's published ratio (1,769 MB is
one vCPU) and take one vCPU there to compute like one thread here (2 threads on this machine).
"""

from __future__ import annotations

from dataclasses import dataclass

from devstack.lambda_env import function_environment
from handler.contract import MAX_REQUEST_TOKENS

__all__ = ["MAX_REQUEST_TOKENS", "Projection"]

LAMBDA_MB_PER_VCPU = 1769  # AWS Lambda docs: "At 1,769 MB, a function has the equivalent of one vCPU"
SMALLEST_SERVERLESS_MB = 3072  # template.yaml, ServerlessMemorySizeMB's smallest allowed value
MARGIN = 2.0  # the worst request may use half the read timeout
READ_TIMEOUT_S = float(function_environment()["SAGEMAKER_READ_TIMEOUT"])  # the handler's, as sam local has it


@dataclass(frozen=True)
class Projection:
    path: str
    seconds_here: float
    threads_here: int
    tokens: int
    memory_mb: int = SMALLEST_SERVERLESS_MB

    @property
    def vcpus(self) -> float:
        return self.memory_mb / LAMBDA_MB_PER_VCPU

    @property
    def projected_s(self) -> float:
        return self.seconds_here * self.threads_here / self.vcpus

    @property
    def limit_s(self) -> float:
        return READ_TIMEOUT_S / MARGIN

    @property
    def fits(self) -> bool:
        return self.projected_s <= self.limit_s

    @property
    def tokens_allowed(self) -> int:
        """The largest budget this measurement supports on that endpoint (tokens in ``limit_s``)."""
        return int(self.tokens * self.limit_s / self.projected_s)

    def describe(self) -> str:
        verdict = "fits" if self.fits else "DOES NOT FIT"
        return (
            f"a request of {self.tokens} tokens (texts of 512) on {self.path}: {self.seconds_here:.2f} s here "
            f"({self.threads_here} threads) -> {self.projected_s:.2f} s on serverless {self.memory_mb} MB "
            f"({self.vcpus:.2f} vCPU at Lambda's ratio); limit {self.limit_s:.1f} s (read timeout / {MARGIN:g}): "
            f"{verdict}; this measurement allows {self.tokens_allowed} tokens"
        )
