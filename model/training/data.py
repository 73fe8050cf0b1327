"""SST-2 TSV reading shared by training and evaluation."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

LABELS = ("NEGATIVE", "POSITIVE")  # SST-2 label ids 0 and 1; the models' id2label


class DataError(Exception):
    """The data file is missing or not in the SST-2 `sentence<TAB>label` format."""


@dataclass
class Encoded:
    """Token ids and labels of a data set, as training and checkpoint selection use them."""

    sequences: list[list[int]]
    labels: list[int]


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 0 negative, 1 positive


def read_tsv(path: Path) -> list[Example]:
    """Read a GLUE SST-2 TSV file (header row, `sentence<TAB>label`)."""
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    examples: list[Example] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["sentence", "label"]:
            raise DataError(f"{path}: expected a header row 'sentence<TAB>label', got {header!r}")
        for lineno, row in enumerate(reader, start=2):
            if len(row) < 2 or row[1].strip() not in {"0", "1"}:
                raise DataError(f"{path}:{lineno}: expected 'sentence<TAB>0|1', got {row!r}")
            examples.append(Example(text=row[0].strip(), label=int(row[1])))
    if not examples:
        raise DataError(f"{path}: no examples")
    return examples
