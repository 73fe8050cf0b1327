"""Deterministic ``.tar.gz`` writing, standard library only.

Entries are sorted, with mtime 0, uid/gid 0, no user names, mode 0644 (0755 for directories), and the
gzip header carries no name and mtime 0, so the same inputs give the same sha256 on any machine.
``make package-model`` and the stack's code-archive custom resource both write archives through
``write`` (the custom resource's Lambda package carries this file and ``model/code/``), which is what
makes their code archives identical for the same ``model/code/``.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path
from typing import BinaryIO

from model.code.files import MODULES

CODE_DIR = Path(__file__).resolve().parent.parent / "code"


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


def code_entries(code_dir: Path = CODE_DIR) -> list[tuple[str, Path]]:
    """``code/inference.py`` and its modules: what the DLC imports."""
    return [(f"code/{name}", code_dir / name) for name in MODULES]


def write(entries: list[tuple[str, Path]], raw: BinaryIO) -> None:
    """Write a deterministic tar.gz of ``entries`` (archive name, file) plus the ``code`` directory entry."""
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        tar.addfile(_info("code", 0, is_dir=True))
        for name, path in sorted(entries):
            data = path.read_bytes()
            tar.addfile(_info(name, len(data)), io.BytesIO(data))


def code_archive(code_dir: Path = CODE_DIR) -> bytes:
    """The code-only model.tar.gz: for hub-direct endpoints, whose weights come from HF_MODEL_ID."""
    buffer = io.BytesIO()
    write(code_entries(code_dir), buffer)
    return buffer.getvalue()
