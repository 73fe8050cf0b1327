"""How one call's texts become forward passes (``plan``): padded to each pass's longest text
(``collate``, ``length_batches``), or, where PyTorch serves DistilBERT, packed several texts per row
(``pack_rows``, ``pack``).

Ships beside ``inference.py`` in ``code/``; imports only torch.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

MAX_PADDING = 0.2  # share of a forward pass's tokens that may be padding (length_batches)
PACK_WIDTH = 128  # tokens per packed row (PyTorch DistilBERT), or the pass's longest text if longer

Batch = tuple[torch.Tensor, torch.Tensor]  # one padded forward pass: (input_ids, attention_mask)


class Packed(NamedTuple):
    """One packed forward pass: several texts per row, each with its own positions, attending only to
    itself (``segments``: the text of each token within its row, -1 for padding). Exact: a text's
    logits are those of the text alone. ``rows``/``columns``: where each text's first token sits."""

    input_ids: torch.Tensor
    segments: torch.Tensor
    position_ids: torch.Tensor
    rows: torch.Tensor
    columns: torch.Tensor


def collate(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad token id lists to the longest one: ``(input_ids, attention_mask)``, both ``long``.

    The one dynamic-padding function of the project: serving, training and evaluation all call it.
    """
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, : len(ids)] = 1
    return input_ids, attention_mask


def length_batches(lengths: list[int], batch_size: int, max_padding: float = MAX_PADDING) -> list[list[int]]:
    """Indexes of ``lengths`` in length order, cut into forward passes of at most ``batch_size`` texts.

    A pass also closes before a longer text would make padding more than ``max_padding`` of its
    tokens: padded positions cost as much as real ones, and a few dozen random texts (what a served
    batch holds) range from 5 to 60 tokens. A long, globally sorted list still fills every pass.
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for index in order:
        width = lengths[index]  # the longest so far: the pass would be padded to it
        padded = (len(current) + 1) * width
        if current and (len(current) == batch_size or padded - tokens - width > max_padding * padded):
            batches.append(current)
            current, tokens = [], 0
        current.append(index)
        tokens += width
    if current:
        batches.append(current)
    return batches


def pack_rows(lengths: list[int], width: int) -> list[list[int]]:
    """Indexes of ``lengths`` placed in rows of ``max(width, longest)`` tokens, longest first, each into
    the first row with room (first-fit decreasing)."""
    width = max([width, *lengths])
    rows: list[list[int]] = []
    room: list[int] = []
    for index in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        row = next((r for r, free in enumerate(room) if free >= lengths[index]), len(rows))
        if row == len(rows):
            rows.append([])
            room.append(width)
        rows[row].append(index)
        room[row] -= lengths[index]
    return rows


def pack(sequences: list[list[int]], rows: list[list[int]], pad_id: int) -> tuple[list[int], Packed | Batch]:
    """One pass of ``rows`` (indexes into ``sequences``, from ``pack_rows``): the texts' order in it, and
    the pass; with one text per row (a lone short text, say) a plain padded pass, which needs no mask."""
    if all(len(row) == 1 for row in rows):
        order = [row[0] for row in rows]
        return order, collate([sequences[i] for i in order], pad_id)
    columns = max(sum(len(sequences[i]) for i in row) for row in rows)
    input_ids = torch.full((len(rows), columns), pad_id, dtype=torch.long)
    segments = torch.full((len(rows), columns), -1, dtype=torch.long)
    position_ids = torch.zeros((len(rows), columns), dtype=torch.long)
    order, starts = [], []
    for r, row in enumerate(rows):
        offset = 0
        for segment, index in enumerate(row):
            n = len(sequences[index])
            input_ids[r, offset : offset + n] = torch.tensor(sequences[index], dtype=torch.long)
            segments[r, offset : offset + n] = segment
            position_ids[r, offset : offset + n] = torch.arange(n)
            order.append(index)
            starts.append((r, offset))
            offset += n
    where = torch.tensor(starts, dtype=torch.long)
    return order, Packed(input_ids, segments, position_ids, where[:, 0], where[:, 1])


def plan(
    encoded: list[list[int]], pad_id: int, batch_size: int, packs: bool
) -> tuple[list[list[int]], list[Batch | Packed]]:
    """The forward passes of one call, and the texts (indexes into ``encoded``) in each: ``batch_size``
    rows of ``PACK_WIDTH`` tokens each when ``packs``, else ``length_batches`` padded to each pass's
    longest text."""
    lengths = [len(ids) for ids in encoded]
    if not packs:
        chunks = length_batches(lengths, batch_size)
        return chunks, [collate([encoded[i] for i in chunk], pad_id) for chunk in chunks]
    rows = pack_rows(lengths, PACK_WIDTH)
    packed = [pack(encoded, rows[i : i + batch_size], pad_id) for i in range(0, len(rows), batch_size)]
    return [order for order, _ in packed], [batch for _, batch in packed]
