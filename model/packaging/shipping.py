"""Which variants an archive ships: each candidate is built, gated against fp32, and ships only if it passes.

``--variant auto`` (the default) tries ``FAST``: the variants worth their archive bytes. openvino-int8
was the fastest variant on both CPUs ``make bench`` has run on (AVX-512 with VNNI, and AVX2 only);
onnx-int8 would add ONNX Runtime to the archive for a variant that was never faster. fp32 always ships, and
``model_fn`` times what the archive holds on the CPU that serves (``auto``). A named variant is tried
alone and must pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from model.code import backends
from model.packaging import graphs, parity, runtime

AUTO = backends.AUTO
FAST = ("openvino-int8",)


@dataclass(frozen=True)
class Gated:
    """A variant that passed the gate: its staged model directory and the evidence."""

    variant: str
    model_dir: Path  # the source's files linked, plus the graph (the source itself for PyTorch variants)
    recipe: str | None  # graphs.describe() of the recipe that passed; None for a variant without a graph
    gate: list[parity.Parity]

    def graph_entries(self) -> list[tuple[str, Path]]:
        """(archive name, file) for the variant's graph files; none for a PyTorch variant."""
        if self.variant not in backends.GRAPHS:
            return []
        folder = self.model_dir / backends.graph_name(self.variant).split("/")[0]
        return [(f"{folder.name}/{f.name}", f) for f in sorted(folder.iterdir()) if f.is_file()]


def candidates(variant: str) -> tuple[str, ...]:
    """The variants to gate for ``--variant``: FAST for auto, none for fp32, else the one named."""
    if variant == AUTO:
        return FAST
    return () if variant == parity.REFERENCE else (variant,)


def gate(source: Path, variant: str, parity_data: Path, tmp: Path, calibration: Sequence[str] = ()) -> Gated | None:
    """``variant`` built in each recipe (fastest first) and checked against fp32 on ``parity_data``: the
    first that passes, or None. bf16 and onnx-fp32 have one form, checked as it is."""
    for number, recipe in enumerate(graphs.recipes(variant)):
        model_dir = source
        if variant in backends.GRAPHS:
            runtime = backends.GRAPHS[variant][1]
            print(f"graph:   building {graphs.describe(variant, recipe)} for {runtime}", flush=True)
            graph = graphs.stage(source, tmp / f"{variant}-{number}", variant, recipe, calibration)
            model_dir = graph.parent.parent
            size = sum(f.stat().st_size for f in graph.parent.iterdir())
            print(f"graph:   {graph.parent.name}/ {size / 1e6:.1f} MB", flush=True)
        results = parity.check(model_dir, variant, parity_data)
        for result in results:
            print(result.describe())
        if all(result.passed for result in results):
            described = graphs.describe(variant, recipe) if variant in backends.GRAPHS else None
            return Gated(variant, model_dir, described, results)
    return None


def runtime_entries(tmp: Path, variants: Sequence[str], python: str = runtime.DLC_PYTHON) -> list[tuple[str, Path]]:
    """The graph variants' runtimes installed for the DLC's Python, as ``code/`` entries (see runtime);
    nothing when no graph variant ships."""
    graph_variants = [v for v in variants if v in backends.GRAPHS]
    if not graph_variants:
        return []
    dest = tmp / "runtime"
    print(
        f"runtime: installing {', '.join(runtime.shipped_requirements(graph_variants))} for Python {python} manylinux"
    )
    files, seconds = runtime.install(dest, graph_variants, python)
    size = sum(f.stat().st_size for f in files) / 1e6
    print(
        f"runtime: {len(files)} files, {size:.1f} MB in code/, imported as they are: no pip at start ({seconds:.1f} s)"
    )
    return [(f"code/{f.relative_to(dest).as_posix()}", f) for f in files]
