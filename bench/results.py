"""The benchmark's one typed result: every figure of a ``make bench`` run, measured side by side."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.cold_import import LambdaPackage


@dataclass
class Latency:
    p50_ms: float
    p99_ms: float


@dataclass
class Setup:
    """One way of running the model offline (a baseline or one of the project's inference paths)."""

    name: str
    sentences_per_s: float
    x_pipeline: float = 0.0
    cold_start_s: float | None = None
    latency_short: Latency | None = None  # the seed sentence
    latency_128_tokens: Latency | None = None
    worst_case_s: float | None = None  # one request of `BenchResult.worst_case_tokens` tokens (texts of 512)
    achieved_gflops: float | None = None
    pct_of_fp32_roof: float | None = None
    pct_of_int8_roof: float | None = None


@dataclass
class ServerPoint:
    """The local model server at one client concurrency (one text per request)."""

    concurrency: int
    sentences_per_s: float
    x_pipeline: float = 0.0


SMALL_CALL_TEXTS = 8


@dataclass
class ServedVsOffline:
    """The model server at the top concurrency against ``predict_fn`` in the bench process on the same
    sentences, measured in alternation (round by round) so this machine's drift hits both alike."""

    concurrency: int
    sentences: int
    served: list[float]  # sentences/s per round
    offline: list[float]
    # per round, from the server's /_local/stats: the model calls the served run made, and how many
    # of them held SMALL_CALL_TEXTS texts or fewer (the convoy: clients wait for their answers)
    calls: list[int]
    small_calls: list[int]

    @property
    def ratios(self) -> list[float]:
        return [served / offline for served, offline in zip(self.served, self.offline, strict=True)]

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)


@dataclass
class Roofline:
    gemm_fp32_gflops: float
    gemm_int8_gops: float  # torch._int_mm, the ceiling of any int8 path
    gflop_per_sentence: float


@dataclass
class StackOverhead:
    """One short sentence, sequential, the two measured in alternation so drift hits both alike."""

    api_p50_ms: float  # local API -> handler -> botocore -> model server
    api_p99_ms: float
    server_p50_ms: float  # the model server alone, over HTTP, on the body the handler sends
    server_bare_p50_ms: float  # the same without parameters (no token-budget check)

    @property
    def added_p50_ms(self) -> float:
        return self.api_p50_ms - self.server_p50_ms


@dataclass
class BenchResult:
    machine: dict[str, Any]
    quick: bool
    setups: list[Setup]
    roofline: Roofline
    server_path: str
    worst_case_tokens: int = 0
    server: list[ServerPoint] = field(default_factory=list)
    served_vs_offline: ServedVsOffline | None = None
    local_stack: StackOverhead | None = None
    lambda_package: LambdaPackage | None = None
    batch_sweep: dict[str, dict[int, float]] = field(default_factory=dict)  # path -> batch size -> sent/s
    batch_sweep_units: dict[str, str] = field(default_factory=dict)  # path -> what a batch size counts

    def setup(self, name: str) -> Setup:
        return next(s for s in self.setups if s.name == name)

    def relate_to_baseline(self, baseline: str = "pipeline per request") -> None:
        base = self.setup(baseline).sentences_per_s
        for setup in self.setups:
            setup.x_pipeline = setup.sentences_per_s / base
        for point in self.server:
            point.x_pipeline = point.sentences_per_s / base
        per_sentence = self.roofline.gflop_per_sentence
        for setup in self.setups:
            if setup.cold_start_s is not None:  # the project's paths: work done vs the GEMM roof
                setup.achieved_gflops = setup.sentences_per_s * per_sentence
                setup.pct_of_fp32_roof = 100 * setup.achieved_gflops / self.roofline.gemm_fp32_gflops
                setup.pct_of_int8_roof = 100 * setup.achieved_gflops / self.roofline.gemm_int8_gops

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.local_stack is not None:
            data["local_stack"]["added_p50_ms"] = self.local_stack.added_p50_ms
        if self.served_vs_offline is not None:
            data["served_vs_offline"]["median_ratio"] = self.served_vs_offline.median_ratio
        return data
