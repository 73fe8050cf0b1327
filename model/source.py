"""Where a model comes from: a local directory, a model.tar.gz, or a Hugging Face Hub id.

One resolver for the packaging CLI, the local model server, evaluation and the benchmark.
"""

from __future__ import annotations

import re
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

from model.code.files import MODULES
from model.digest import sha256_bytes, sha256_file

HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
HUB_FILES = [
    "config.json",
    "*.safetensors",
    "*.safetensors.index.json",
    "tokenizer*",
    "vocab*",
    "special_tokens_map.json",
]
EXTRACT_ROOT = Path(tempfile.gettempdir()) / "sentimentpulse-models"
CODE_DIR = Path(__file__).resolve().parent / "code"  # model/code: what every archive ships as code/


class ModelSourceError(Exception):
    """The model could not be found, extracted or downloaded."""


def fetch_from_hub(repo_id: str, revision: str = "main") -> Path:
    """Download what a classifier needs at a pinned commit (huggingface_hub shows progress bars)."""
    from huggingface_hub import HfApi, snapshot_download

    try:
        sha = HfApi().model_info(repo_id, revision=revision).sha
        if sha != revision:
            print(f"resolved {repo_id}@{revision} to commit {sha}", file=sys.stderr)
        return Path(snapshot_download(repo_id, revision=sha, allow_patterns=HUB_FILES))
    except Exception as exc:  # offline, unknown repo, auth: one clear message
        raise ModelSourceError(f"cannot download {repo_id}@{revision} from the Hugging Face Hub: {exc}") from None


def extract_archive(archive: Path, marker: str = "config.json") -> Path:
    """Extract a model.tar.gz once (keyed by its sha256) and return the directory."""
    target = EXTRACT_ROOT / sha256_file(archive)
    if (target / marker).is_file():
        return target
    EXTRACT_ROOT.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix="extract-", dir=EXTRACT_ROOT))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(partial, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise ModelSourceError(f"{archive}: not a readable model.tar.gz ({exc})") from None
    partial.replace(target)
    return target


def is_hub_id(spec: str) -> bool:
    return not Path(spec).exists() and bool(HUB_ID.match(spec))


def hub_direct_dir() -> Path:
    """What a hub-direct endpoint's /opt/ml/model holds: code/ only (the stack's code-only archive).
    The weights then come from HF_MODEL_ID, read by ``inference.model_fn`` as on the endpoint.
    """
    files = [CODE_DIR / name for name in MODULES]
    key = sha256_bytes(b"".join(f.name.encode() + b"\0" + f.read_bytes() for f in files))
    target = EXTRACT_ROOT / f"code-{key}"
    if not (target / "code" / "inference.py").is_file():
        EXTRACT_ROOT.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix="code-", dir=EXTRACT_ROOT))
        (partial / "code").mkdir()
        for f in files:
            shutil.copyfile(f, partial / "code" / f.name)
        partial.replace(target)
    return target


def resolve_model_dir(spec: str, revision: str = "main") -> Path:
    path = Path(spec)
    if path.is_dir():
        return path
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        return extract_archive(path)
    if not path.exists() and HUB_ID.match(spec):
        return fetch_from_hub(spec, revision)
    raise ModelSourceError(f"model not found: {spec} (expected a model directory, a model.tar.gz or a Hub id)")
