"""Model directory checks and the deterministic ``model.tar.gz`` SageMaker loads.

Layout (what the Hugging Face DLC expects): model files at the archive root, plus
``code/inference.py`` (and ``code/requirements.txt`` when present). Entries are sorted, with mtime 0,
uid/gid 0, no user names, mode 0644 (0755 for directories), and the gzip header carries no name and
mtime 0, so the same inputs give the same sha256 on any machine.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

CODE_DIR = Path(__file__).resolve().parent.parent / "code"
CODE_FILES = ("inference.py", "requirements.txt")
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model", "vocab.json")
# Files of a local model directory that SageMaker does not need.
SKIPPED = {"training.json", ".gitattributes"}


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
        if not path.is_file() or relative.parts[0].startswith(".") or relative.parts[0] == "code":
            continue
        if relative.as_posix() in SKIPPED:
            continue
        entries.append((relative.as_posix(), path))
    for name in CODE_FILES:
        if (code_dir / name).is_file():
            entries.append((f"code/{name}", code_dir / name))
    return sorted(entries)


def _info(name: str, size: int, is_dir: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if is_dir else 0o644
    if is_dir:
        info.type = tarfile.DIRTYPE
    return info


def build_archive(model_dir: Path, out: Path, code_dir: Path = CODE_DIR) -> str:
    """Write ``out`` (model.tar.gz) and return its sha256. Written to a temp file, then renamed."""
    entries = _entries(model_dir, code_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with (
        partial.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.addfile(_info("code", 0, is_dir=True))
        for name, path in entries:
            data = path.read_bytes()
            tar.addfile(_info(name, len(data)), io.BytesIO(data))
    partial.replace(out)
    return sha256_file(out)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
