"""Which model and which code serve: reported by the info call (GET /info), in every answer's
``CustomAttributes`` (``model=``) and in the load log line. Ships in ``code/``."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

if __package__:  # the project imports model.code.identity
    from . import files
else:  # the DLC puts code/ on sys.path and imports these files as top-level modules
    import files  # type: ignore[no-redef]

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHIVE = "archive"  # model_id of weights that came in the archive, not from the Hub
SKIPPED = ("code",)  # not the model: the inference code, hashed on its own


@dataclass(frozen=True)
class Identity:
    model_id: str  # HF_MODEL_ID, or ARCHIVE
    revision: str  # the Hub commit, or sha256:<hex> over the archive's model files
    name: str | None  # the model card's title, when the model has a card

    @property
    def version(self) -> str:
        """One token for the x-model-version header (visible US-ASCII, as CustomAttributes allows)."""
        return self.revision if self.model_id == ARCHIVE else f"{self.model_id}@{self.revision}"


def identify(source: str, revision: str | None) -> Identity:
    """``source`` is the archive root (revision None) or the Hub id it loaded at ``revision``."""
    if revision is not None or not os.path.isdir(source):
        return Identity(source, revision or "unpinned", None)
    return Identity(ARCHIVE, f"sha256:{weights_sha256(source)}", card_title(source))


def weights_sha256(model_dir: str) -> str:
    """sha256 over the model's files (relative name, NUL, bytes; sorted), code/ left out."""
    digest = hashlib.sha256()
    for root, dirs, names in os.walk(model_dir):
        dirs[:] = sorted(d for d in dirs if not (root == model_dir and d in SKIPPED) and not d.startswith("."))
        for name in sorted(names):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, model_dir).encode() + b"\0")
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def card_title(model_dir: str) -> str | None:
    """The first ``# `` heading of the model card (README.md), if any."""
    card = os.path.join(model_dir, "README.md")
    if not os.path.isfile(card):
        return None
    with open(card, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("# "):
                return line[2:].strip()[:256] or None
    return None


def file_sha256(name: str) -> str:
    with open(os.path.join(HERE, name), "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def code_sha256() -> str:
    """sha256 over code/'s modules (files.MODULES, in that order): which code an endpoint runs."""
    digest = hashlib.sha256()
    for name in files.MODULES:
        with open(os.path.join(HERE, name), "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()
