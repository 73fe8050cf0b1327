"""What the graph-path archive tests check about the runtime installed in the archive's ``code/``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from model.code import backends
from model.packaging import parity, runtime

CALIBRATION = ["a good movie", "bad", "the movie was not fun", "great great", "awful and boring", "not bad"] * 3


def calibration_tsv(path: Path) -> Path:
    """CALIBRATION as a labelled TSV (what --calibration-data reads)."""
    path.write_text("sentence\tlabel\n" + "".join(f"{t}\t1\n" for t in CALIBRATION), encoding="utf-8")
    return path


def pass_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fix the gate's verdict to a pass: on a random tiny model it is a coin toss, and the gate itself is
    tested in test_parity; these tests are about what the archive carries."""
    passing = parity.Parity("openvino-int8 (f32)", 3, 1.0, 0.5, 0.5, 0.01)
    monkeypatch.setattr(parity, "check", lambda model, path, data: [passing])


def installed(names: Iterable[str]) -> dict[str, str]:
    """{distribution: version} of the ``code/<name>-<version>.dist-info`` folders among archive ``names``."""
    found: dict[str, str] = {}
    for name in names:
        parts = name.split("/")
        if len(parts) > 2 and parts[0] == "code" and parts[1].endswith(".dist-info"):
            distribution, version = parts[1].removesuffix(".dist-info").rsplit("-", 1)
            found[canonicalize_name(distribution)] = version
    return found


def assert_runtime_installed(names: set[str], variant: str, python: str = runtime.DLC_PYTHON) -> None:
    """``variant``'s runtime sits in ``code/``, installed for ``python``, with nothing for pip to do at start."""
    assert "code/requirements.txt" not in names and not any(n.startswith("code/wheels/") for n in names)
    pins = dict(line.split("==") for line in runtime.shipped_requirements([variant]))
    assert installed(names) == {canonicalize_name(name): version for name, version in pins.items()}
    package = backends.GRAPHS[variant][1]
    tag = f"cpython-{python.replace('.', '')}-x86_64-linux-gnu.so"
    extensions = [n for n in names if n.startswith(f"code/{package}/") and ".cpython-" in n]
    assert extensions and all(n.endswith(tag) for n in extensions), extensions
    assert not any(n.startswith(("code/numpy/", "code/bin/")) for n in names)  # the image's numpy serves
