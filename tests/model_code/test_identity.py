"""identity.py: which model and which code serve (GET /info, x-model-version, the load log line)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from model.code import files, identity

pytestmark = pytest.mark.unit


def test_archive_weights_are_named_by_their_digest_and_card(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "README.md").write_text("---\nlicense: x\n---\n\n# My sentiment model\n\ntext\n")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text("# code is hashed on its own")
    first = identity.identify(str(tmp_path), None)
    assert (first.model_id, first.name) == ("archive", "My sentiment model")
    assert first.version == first.revision and first.revision.startswith("sha256:")

    (tmp_path / "code" / "inference.py").write_text("# other code, same model")
    assert identity.identify(str(tmp_path), None).revision == first.revision
    (tmp_path / "model.safetensors").write_bytes(b"other weights")
    assert identity.identify(str(tmp_path), None).revision != first.revision


def test_hub_weights_are_named_by_id_and_commit() -> None:
    hub = identity.identify("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "714eb0f")
    assert hub.version == "distilbert/distilbert-base-uncased-finetuned-sst-2-english@714eb0f"
    assert hub.name is None


def test_code_digests_are_of_the_files_that_ship() -> None:
    here = Path(identity.__file__).parent
    assert identity.file_sha256("inference.py") == hashlib.sha256((here / "inference.py").read_bytes()).hexdigest()
    whole = hashlib.sha256(b"".join((here / name).read_bytes() for name in files.MODULES)).hexdigest()
    assert identity.code_sha256() == whole
