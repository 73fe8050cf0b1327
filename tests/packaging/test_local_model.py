"""make local's fast variant: built and gated once per model, code and data; reused until one changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.packaging import __main__ as packaging_cli
from model.packaging import graphs, local_model, parity

pytestmark = pytest.mark.model

CALIBRATION = ["a good movie", "bad", "the movie was not fun", "great great", "awful and boring", "not bad"] * 3


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "dev.tsv").write_text("sentence\tlabel\na good movie\t1\na bad movie\t0\n", encoding="utf-8")
    (folder / "train.tsv").write_text("sentence\tlabel\n" + "".join(f"{t}\t1\n" for t in CALIBRATION), encoding="utf-8")
    return folder


def gate_verdict(monkeypatch: pytest.MonkeyPatch, agreement: float) -> list[str]:
    """Fix the gate's verdict (on a random tiny model it is a coin toss; the gate is tested in test_parity)."""
    calls: list[str] = []

    def check(model: Path, path: str, data: Path) -> list[parity.Parity]:
        calls.append(path)
        return [parity.Parity(path, 2, agreement, 0.5, 0.5, 0.01)]

    monkeypatch.setattr(parity, "check", check)
    return calls


def test_builds_once_and_reuses_until_the_data_changes(
    tiny_model: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = gate_verdict(monkeypatch, 1.0)
    cache = tmp_path / "cache"
    folder = local_model.prepare(tiny_model, data, cache)
    assert folder.parent == cache and (folder / "openvino" / "model-int8.xml").is_file()
    assert (folder / "model.safetensors").resolve() == (tiny_model / "model.safetensors").resolve()
    assert json.loads((folder / local_model.VERDICT).read_text())["shipped"] == ["openvino-int8"]
    assert "fast variant: building and gating openvino-int8" in capsys.readouterr().err
    assert local_model.prepare(tiny_model, data, cache) == folder  # the cache: no second build
    assert calls == ["openvino-int8"] and "(cached in" in capsys.readouterr().err
    with (data / "dev.tsv").open("a", encoding="utf-8") as dev:
        dev.write("not fun\t0\n")
    assert local_model.prepare(tiny_model, data, cache) not in (folder, tiny_model)  # new data: a new build
    assert len(calls) == 2 and len(list(cache.iterdir())) == 2  # both builds kept, no temporary left


def test_a_failed_gate_serves_the_model_as_it_is_and_is_remembered(
    tiny_model: Path, data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = gate_verdict(monkeypatch, 0.5)
    cache = tmp_path / "cache"
    assert local_model.prepare(tiny_model, data, cache) == tiny_model
    assert len(calls) == len(graphs.recipes("openvino-int8"))  # every recipe tried
    assert "none passed the gate; serving fp32" in capsys.readouterr().err
    assert local_model.prepare(tiny_model, data, cache) == tiny_model and len(calls) == len(
        graphs.recipes("openvino-int8")
    )


def test_the_cli_prints_only_the_folder_on_stdout(
    tiny_model: Path, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(local_model, "prepare", lambda model, data: model / "built")
    assert packaging_cli.main(["local", "--model", str(tiny_model), "--data", str(data)]) == 0
    assert capsys.readouterr().out == f"{tiny_model / 'built'}\n"
    assert packaging_cli.main(["local", "--model", str(tiny_model), "--variant", "fp32"]) == 0
    assert capsys.readouterr().out == f"{tiny_model}\n"  # pinned: served as it is, nothing built
