"""The gate's data when none is given: SST-2 through ``datasets``, written once as TSV, or a clear error."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from model.packaging import gate_data
from model.training.data import DataError, read_tsv

pytestmark = pytest.mark.unit

ROWS = {
    "validation": [
        {"idx": 0, "sentence": "a gripping , funny film ", "label": 1},
        {"idx": 1, "sentence": "dull", "label": 0},
    ],
    "train": [{"idx": i, "sentence": f"sentence\twith a tab {i}", "label": i % 2} for i in range(5)],
}


def test_fetch_writes_both_splits_as_the_gate_reads_them_once(tmp_path: Path) -> None:
    calls: list[tuple[str, str]] = []

    def loader(dataset: str, split: str) -> Iterable[Mapping[str, Any]]:
        calls.append((dataset, split))
        return ROWS[split]

    data = gate_data.fetch(tmp_path, loader)
    dev, train = read_tsv(data.parity), read_tsv(data.calibration)
    assert [(e.text, e.label) for e in dev] == [("a gripping , funny film", 1), ("dull", 0)]
    assert train[0].text == "sentence with a tab 0" and len(train) == 5
    assert calls == [(gate_data.DATASET, "validation"), (gate_data.DATASET, "train")]
    assert "stanfordnlp/sst2" in data.source
    gate_data.fetch(tmp_path, loader)  # cached: the loader is not called again
    assert len(calls) == 2


def test_a_failed_fetch_names_data_and_leaves_no_partial_file(tmp_path: Path) -> None:
    def loader(dataset: str, split: str) -> Iterable[Mapping[str, Any]]:
        yield ROWS["validation"][0]
        raise ConnectionError("Couldn't reach 'stanfordnlp/sst2' on the Hub (LocalEntryNotFoundError)")

    with pytest.raises(DataError, match=r"pass DATA=<dir holding dev\.tsv and train\.tsv> \(make\)") as caught:
        gate_data.fetch(tmp_path, loader)
    assert "ConnectionError: Couldn't reach" in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its .partial
