"""Model directory checks and the deterministic ``model.tar.gz`` SageMaker loads.

Layout (what the Hugging Face DLC expects): model files at the archive root, plus
``code/inference.py`` and its modules (and a graph variant's runtime), written deterministically by
``tarball.write``.
"""

from __future__ import annotations

import json
from pathlib import Path

from model.code import backends
from model.digest import sha256_bytes, sha256_file
from model.packaging.tarball import CODE_DIR, code_archive, code_entries, write

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json")
# Files of a local model directory that SageMaker does not need.
SKIPPED = {"training.json", ".gitattributes", "archive-manifest.json"}  # the manifest: written anew per archive


class ModelDirError(Exception):
    """The model directory is missing, incomplete or does not load."""


def validate_model_dir(model_dir: Path, load: bool = True) -> None:
    if not model_dir.is_dir():
        raise ModelDirError(f"model directory not found: {model_dir}")
    config = model_dir / "config.json"
    if not config.is_file():
        raise ModelDirError(f"{config}: missing (every Hugging Face model directory needs config.json)")
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelDirError(f"{config}: not readable as JSON ({exc.__class__.__name__})") from None
    if not any((model_dir / name).is_file() for name in WEIGHT_FILES):
        raise ModelDirError(f"{model_dir}: no weights file (expected one of {', '.join(WEIGHT_FILES)})")
    if not any((model_dir / name).is_file() for name in TOKENIZER_FILES):
        raise ModelDirError(f"{model_dir}: no tokenizer file (expected one of {', '.join(TOKENIZER_FILES)})")
    if load:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        try:
            AutoTokenizer.from_pretrained(model_dir)
            AutoModelForSequenceClassification.from_pretrained(model_dir)
        except Exception as exc:  # transformers raises many types; report them all the same way
            raise ModelDirError(f"{model_dir}: does not load as a sequence classifier ({exc})") from None


def _entries(model_dir: Path, code_dir: Path) -> list[tuple[str, Path]]:
    entries: list[tuple[str, Path]] = []
    for path in sorted(model_dir.rglob("*")):
        relative = path.relative_to(model_dir)
        top = relative.parts[0]
        # Graphs enter only through the parity gate (``shipping``): one left in the source is not evidence.
        if not path.is_file() or top.startswith(".") or top == "code" or top in backends.GRAPH_DIRS:
            continue
        if relative.as_posix() in SKIPPED:
            continue
        entries.append((relative.as_posix(), path))
    return entries + code_entries(code_dir)


def build_archive(
    model_dir: Path, out: Path, code_dir: Path = CODE_DIR, extra: list[tuple[str, Path]] | None = None
) -> str:
    """Write ``out`` (model.tar.gz) and return its sha256. Written to a temp file, then renamed.

    ``extra`` adds (archive name, file) entries, e.g. graphs and the runtime installed in ``code/``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("wb") as raw:
        write(_entries(model_dir, code_dir) + list(extra or []), raw)
    partial.replace(out)
    return sha256_file(out)


def build_code_archive(out: Path, code_dir: Path = CODE_DIR) -> str:
    """Write the code-only archive (what the stack's custom resource uploads in hub mode); its sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    data = code_archive(code_dir)
    out.write_bytes(data)
    return sha256_bytes(data)
