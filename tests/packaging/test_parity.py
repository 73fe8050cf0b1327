"""The parity gate of `make package-model`: a path other than fp32 ships only if it answers like fp32."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from model.packaging import __main__ as packaging_cli
from model.packaging import gate_data, parity
from model.training import evaluate
from tests.support import ROOT, make_env

pytestmark = pytest.mark.model


def pred(label: str, score: float) -> dict[str, Any]:
    return {"label": label, "score": score}


def test_compare_counts_agreement_accuracy_and_probability_shift() -> None:
    gold = ["POSITIVE", "NEGATIVE", "POSITIVE", "NEGATIVE"]
    reference = [pred("POSITIVE", 0.9), pred("NEGATIVE", 0.8), pred("NEGATIVE", 0.6), pred("NEGATIVE", 0.7)]
    candidate = [pred("POSITIVE", 0.85), pred("NEGATIVE", 0.8), pred("POSITIVE", 0.55), pred("NEGATIVE", 0.7)]
    result = parity.compare("bf16", gold, reference, candidate)
    assert result.agreement == 0.75
    assert result.reference_accuracy == 0.75
    assert result.accuracy == 1.0
    assert result.max_delta_p == pytest.approx(0.15)  # P(POSITIVE) 0.40 -> 0.55 on the third sentence
    assert not result.passed  # 75 % agreement, although accuracy went up


@pytest.mark.parametrize(
    ("agreement", "accuracy", "passed"),
    [(0.995, 0.897, True), (0.9949, 0.9, False), (1.0, 0.8969, False), (1.0, 0.897, True)],
)
def test_thresholds(agreement: float, accuracy: float, passed: bool) -> None:
    result = parity.Parity("bf16", 1000, agreement, 0.9, accuracy, 0.01)
    assert result.passed is passed


def test_fp32_against_itself_is_exact(tiny_model: Path, tmp_path: Path) -> None:
    data = tmp_path / "dev.tsv"
    data.write_text("sentence\tlabel\na fine film\t1\na dull film\t0\nnot bad at all\t1\n", encoding="utf-8")
    [result] = parity.check(tiny_model, "fp32", data)
    assert (result.examples, result.agreement, result.max_delta_p) == (3, 1.0, 0.0)
    assert result.passed


@pytest.mark.parametrize("passed", [True, False])
def test_cli_writes_the_archive_only_when_the_gate_passes(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, passed: bool
) -> None:
    agreement = 0.999 if passed else 0.95
    monkeypatch.setattr(
        parity, "check", lambda model, path, data: [parity.Parity(path, 872, agreement, 0.9, 0.899, 0.02)]
    )
    out = tmp_path / "model.tar.gz"
    argv = ["package", "--model", str(tiny_model), "--out", str(out), "--variant", "bf16"]
    assert packaging_cli.main([*argv, "--parity-data", str(tmp_path / "dev.tsv")]) == (0 if passed else 1)
    assert out.exists() is passed


def test_cli_without_data_or_network_names_data(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def offline(dataset: str, split: str) -> Any:
        raise ConnectionError(f"Couldn't reach '{dataset}' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(gate_data, "load_split", offline)
    out = tmp_path / "model.tar.gz"
    argv = ["package", "--model", str(tiny_model), "--out", str(out), "--data-cache", str(tmp_path / "cache")]
    assert packaging_cli.main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: the parity gate needs labelled sentences") and "pass DATA=<dir" in error
    assert "ConnectionError: Couldn't reach 'stanfordnlp/sst2'" in error
    assert not out.exists() and not list((tmp_path / "cache").glob("*"))


def test_make_package_model_offline_without_data_stops_naming_data(tiny_model: Path, tmp_path: Path) -> None:
    """The real datasets library, offline (the Hub unreachable, an empty cache): the command make runs
    with DATA= empty passes no data, and packaging stops with one line naming DATA=, writing nothing."""
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "package-model", "DATA=", f"MODEL={tiny_model}"],
        cwd=ROOT, capture_output=True, text=True, env=make_env(),
    )  # fmt: skip
    command = next(line for line in dry.stdout.splitlines() if "model.packaging package" in line)
    assert '--variant "auto"' in command and "--parity-data" not in command
    out, cache = tmp_path / "model.tar.gz", tmp_path / "cache"
    offline = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    argv = ["package", "--model", str(tiny_model), "--out", str(out), "--data-cache", str(cache)]
    result = subprocess.run(
        [sys.executable, "-m", "model.packaging", *argv], cwd=ROOT, env=offline, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the parity gate needs labelled sentences") and "pass DATA=<dir" in last
    assert "Traceback" not in result.stderr and not out.exists()
    assert not cache.exists() or not list(cache.iterdir())


def test_fp32_is_computed_once_for_every_recipe_of_a_run(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A staged folder links the source's files: its fp32 reference is the source's, not recomputed."""
    data = tmp_path / "dev.tsv"
    data.write_text("sentence\tlabel\na fine film\t1\na dull film\t0\n", encoding="utf-8")
    staged = tmp_path / "staged"
    staged.mkdir()
    for entry in tiny_model.iterdir():
        (staged / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
    loads: list[str] = []

    def counting_load(model_dir: Path, path: str) -> Any:
        loads.append(path)
        return evaluate.load(model_dir, path)

    monkeypatch.setattr(parity, "load", counting_load)
    first = parity.check(tiny_model, "bf16", data)
    second = parity.check(staged, "bf16", data)
    assert loads == ["fp32", "bf16", "bf16"] and first == second
    data.write_text("sentence\tlabel\na fine film\t1\n", encoding="utf-8")  # other data: a new reference
    parity.check(staged, "bf16", data)
    assert loads.count("fp32") == 2


def test_a_check_leaves_the_process_environment_as_it_was(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate loads each variant through SP_INFERENCE_VARIANT: a process that packages and then starts a
    serving stack (make bench-start) must not hand it the last variant gated."""
    data = tmp_path / "dev.tsv"
    data.write_text("sentence\tlabel\na fine film\t1\na dull film\t0\n", encoding="utf-8")
    monkeypatch.delenv("SP_INFERENCE_VARIANT", raising=False)
    parity.check(tiny_model, "bf16", data)
    assert "SP_INFERENCE_VARIANT" not in os.environ
    monkeypatch.setenv("SP_INFERENCE_VARIANT", "auto")
    parity.check(tiny_model, "bf16", data)
    assert os.environ["SP_INFERENCE_VARIANT"] == "auto"
