"""Which variants an archive ships: each candidate is built, gated against fp32, and ships only if it passes.

``--variant auto`` (the default) tries ``FAST``: the variants worth their archive bytes. openvino-int8
was the fastest variant on both CPUs ``make bench`` has run on (AVX-512 with VNNI, and AVX2 only);
onnx-int8 would add ONNX Runtime's wheels for a variant that was never faster. fp32 always ships, and
``model_fn`` times what the archive holds on the CPU that serves (``auto``). A named variant is tried
alone and must pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from model.code import backends
from model.packaging import graphs, parity, wheels

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


def runtime_entries(tmp: Path, variants: Sequence[str], python: str = wheels.DLC_PYTHON) -> list[tuple[str, Path]]:
    """The graph variants' runtimes as wheels for the DLC, and the requirements.txt that installs them
    offline; nothing when no graph variant ships."""
    graph_variants = [v for v in variants if v in backends.GRAPHS]
    if not graph_variants:
        return []
    found: set[Path] = set()
    for variant in graph_variants:
        print(f"wheels:  {wheels.runtime_requirement(variant)} and its dependencies for Python {python} manylinux")
        found.update(wheels.download(tmp / "wheels", variant, python))
    requirements = tmp / "requirements.txt"
    requirements.write_text(wheels.requirements_text(graph_variants), encoding="utf-8")
    print(f"wheels:  {len(found)} files, {sum(w.stat().st_size for w in found) / 1e6:.1f} MB")
    seconds = wheels.offline_install_seconds(tmp / "wheels", tmp / "offline-install", graph_variants, python)
    print(f"wheels:  install with --no-index, as the endpoint will: {seconds:.1f} s (every wheel installed)")
    return [("code/requirements.txt", requirements), *((f"{wheels.WHEELS_DIR}/{w.name}", w) for w in sorted(found))]
