"""The parity gate's sentences when none are passed: SST-2 from the Hugging Face Hub, through ``datasets``.

The gate needs labelled sentences (``dev.tsv``: agreement and accuracy) and openvino-int8's calibration
needs more (``train.tsv``). ``DATA=`` / ``--parity-data`` give them; without them, packaging fetches
``stanfordnlp/sst2`` (the GLUE SST-2 the embedded model was trained and selected on: validation is
dev.tsv, train is train.tsv) with ``datasets``, which caches it, and writes both splits as TSV under
``build/gate-data/`` so the gate reads one format and the manifest records the files' sha256.

No data and no network is an error that names ``DATA=``: a model never ships fp32-only by accident.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.training.data import DataError

CACHE = Path(__file__).resolve().parent.parent.parent / "build" / "gate-data"
DATASET = "stanfordnlp/sst2"
SPLITS = {"dev.tsv": "validation", "train.tsv": "train"}  # our file -> the dataset's split

Loader = Callable[[str, str], Iterable[Mapping[str, Any]]]  # (dataset, split) -> rows with sentence, label


@dataclass(frozen=True)
class GateData:
    parity: Path  # dev.tsv
    calibration: Path  # train.tsv
    source: str  # where they came from, for the manifest


def load_split(dataset: str, split: str) -> Iterable[Mapping[str, Any]]:
    """``datasets.load_dataset(dataset, split=split)``: the Hub, or the datasets cache when offline."""
    import datasets

    rows: Iterable[Mapping[str, Any]] = datasets.load_dataset(dataset, split=split)
    return rows


def write_tsv(rows: Iterable[Mapping[str, Any]], path: Path) -> int:
    """The rows as a GLUE SST-2 TSV (``sentence<TAB>label``, header row); returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    count = 0
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE, escapechar="\\", lineterminator="\n")
            writer.writerow(["sentence", "label"])
            for row in rows:
                writer.writerow([str(row["sentence"]).replace("\t", " ").strip(), int(row["label"])])
                count += 1
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)  # a fetch that fails half way leaves no half file to be read as data
    return count


def fetch(cache: Path, loader: Loader | None = None) -> GateData:
    """dev.tsv and train.tsv from ``DATASET`` under ``cache`` (once; later calls read the files).
    ``loader`` defaults to ``load_split``."""
    loader = loader or load_split
    for name, split in SPLITS.items():
        target = cache / name
        if target.is_file():
            continue
        print(f"data:    fetching {DATASET} {split} split (datasets) -> {target}", flush=True)
        try:
            count = write_tsv(loader(DATASET, split), target)
        except OSError as exc:  # offline: datasets raises ConnectionError; an unknown dataset FileNotFoundError
            raise DataError(
                "the parity gate needs labelled sentences and none were given: pass DATA=<dir holding "
                "dev.tsv and train.tsv> (make) or --parity-data/--calibration-data, or connect to the "
                f"Hugging Face Hub so {DATASET} can be fetched ({type(exc).__name__}: {_first_line(exc)})"
            ) from None
        print(f"data:    {count} sentences", flush=True)
    return GateData(cache / "dev.tsv", cache / "train.tsv", f"{DATASET} (validation, train) via datasets")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or ["no message"])[0][:200]
