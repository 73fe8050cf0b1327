"""The compute budget's arithmetic: does the worst request the API accepts fit on the slowest CPU?

Inputs: the contract's ``MAX_REQUEST_TOKENS``; the handler's read timeout (``events/env.json``, the
template's value); and the seconds that request took here. The worst accepted request must finish
within half the read timeout (a 2x margin) on the slowest CPU the template allows, on the default
inference variant (fp32).

The slowest CPU, stated because AWS publishes no CPU model for serverless endpoints: **2 vCPUs
without AVX-512** (AVX2 kernels; fp32 GEMM about 64 GFLOP/s with 2 threads, as measured on a 2-vCPU
AMD EPYC with AVX2 only). Serverless endpoints get CPU in proportion to memory, without a published
ratio; we use Lambda's (1,769 MB is one vCPU), so the smallest size the template offers, 4096 MB, has
at least 2 vCPUs. Every realtime instance type has at least 2. A measurement counts only if it ran
with AVX2 kernels: on such a CPU, or with AVX-512 switched off (``AVX2_ONLY``: oneDNN's and MKL's own
switches) on a faster one.
"""

from __future__ import annotations

from dataclasses import dataclass

from devstack.lambda_env import function_environment
from handler.contract import MAX_REQUEST_TOKENS

__all__ = ["AVX2_ONLY", "MAX_REQUEST_TOKENS", "Projection"]

LAMBDA_MB_PER_VCPU = 1769  # AWS Lambda docs: "At 1,769 MB, a function has the equivalent of one vCPU"
SMALLEST_SERVERLESS_MB = 4096  # template.yaml, ServerlessMemorySizeMB's smallest allowed value
SLOWEST_VCPUS = 2  # the slowest CPU the template allows: 2 vCPUs, AVX2 only
MARGIN = 2.0  # the worst request may use half the read timeout
READ_TIMEOUT_S = float(function_environment()["SAGEMAKER_READ_TIMEOUT"])  # the handler's, as sam local has it
# Environment that makes oneDNN and MKL use AVX2 kernels on a CPU with AVX-512 (read when they load).
AVX2_ONLY = {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


@dataclass(frozen=True)
class Projection:
    path: str
    seconds_here: float
    threads_here: int
    tokens: int
    vcpus: float = SLOWEST_VCPUS

    @property
    def projected_s(self) -> float:
        """Seconds on the slowest CPU, one vCPU there computing like one thread here (AVX2 kernels)."""
        return self.seconds_here * self.threads_here / self.vcpus

    @property
    def limit_s(self) -> float:
        return READ_TIMEOUT_S / MARGIN

    @property
    def fits(self) -> bool:
        return self.projected_s <= self.limit_s

    @property
    def tokens_allowed(self) -> int:
        """The largest budget this measurement supports there (tokens in ``limit_s``)."""
        return int(self.tokens * self.limit_s / self.projected_s)

    def describe(self) -> str:
        verdict = "fits" if self.fits else "DOES NOT FIT"
        return (
            f"a request of {self.tokens} tokens (texts of 512) on {self.path}: {self.seconds_here:.2f} s here "
            f"({self.threads_here} threads) -> {self.projected_s:.2f} s on {self.vcpus:g} vCPUs without AVX-512 "
            f"(valid if measured with AVX2 kernels); limit {self.limit_s:.1f} s (read timeout / {MARGIN:g}): "
            f"{verdict}; this measurement allows {self.tokens_allowed} tokens"
        )
