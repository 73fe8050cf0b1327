"""``make local``'s fast variant: a model directory's fast graphs built and gated once, cached under build/.

``python -m model.packaging local --model DIR`` prints the folder to serve; ``make local`` hands it to
the local stack, which knows nothing of packaging.

The same steps as ``make package-model`` (``model.packaging.shipping``): each of ``shipping.FAST`` is
built in each recipe and kept only if it passes the parity gate against fp32. The result is a folder
under ``build/local-model/`` (the model's files linked, the graph beside them) that the local model
server loads with ``auto``, so it times fp32 against the graph on this CPU, as an endpoint does. The
folder's name is a digest of the model's files, the code in ``model/code`` and the gate's data: a
change to any of them builds anew; otherwise the next start reuses it (a failed gate too, recorded).

Without gate data (no DATA folder and no network for ``datasets``) the stack serves fp32 and says so.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

from model.code import identity
from model.digest import sha256_file
from model.packaging import gate_data, graphs, openvino_export, shipping
from model.training.data import DataError, read_tsv

ROOT = Path(__file__).resolve().parent.parent.parent
CACHE = ROOT / "build" / "local-model"
VERDICT = "local-variants.json"


def say(line: str) -> None:
    """Progress on stderr: stdout carries only the folder to serve."""
    print(line, file=sys.stderr, flush=True)


def _key(model_dir: Path, data: gate_data.GateData) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(f"{path.relative_to(model_dir).as_posix()}={sha256_file(path)}\n".encode())
    digest.update(f"code={identity.code_sha256()}\n".encode())
    digest.update(f"dev={sha256_file(data.parity)}\ntrain={sha256_file(data.calibration)}\n".encode())
    return digest.hexdigest()[:16]


def _data(data_dir: Path | None) -> gate_data.GateData | None:
    if data_dir is not None:
        return gate_data.GateData(data_dir / "dev.tsv", data_dir / "train.tsv", f"{data_dir.resolve()} (given)")
    try:
        return gate_data.fetch(gate_data.CACHE)
    except DataError as exc:
        say(f"fast variant: none ({exc}); serving fp32")
        return None


def prepare(model_dir: Path, data_dir: Path | None, cache: Path = CACHE) -> Path:
    """The folder to serve: a cached build of ``model_dir`` with the fast graphs that passed, or
    ``model_dir`` itself when none passed or there is no data to gate with."""
    data = _data(data_dir)
    if data is None:
        return model_dir
    target = cache / _key(model_dir, data)
    if (target / VERDICT).is_file():
        shipped = json.loads((target / VERDICT).read_text(encoding="utf-8"))["shipped"]
        say(f"fast variant: {', '.join(shipped) or 'none passed the gate'} (cached in {target})")
        return target if shipped else model_dir
    say(
        f"fast variant: building and gating {', '.join(shipping.FAST)} for {model_dir} once "
        f"(cached in {target}; rebuilt when the model, model/code or the data change)"
    )
    calibration = openvino_export.calibration_sample([e.text for e in read_tsv(data.calibration)])
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        passed = [g for v in shipping.FAST if (g := shipping.gate(model_dir, v, data.parity, Path(tmp), calibration))]
        staged = Path(tmp) / "staged"
        graphs.link_model_files(model_dir, staged)  # the same links a graph's stage has
        for gated in passed:
            for name, path in gated.graph_entries():
                (staged / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, staged / name)
        shipped = [g.variant for g in passed]
        (staged / VERDICT).write_text(json.dumps({"shipped": shipped, "data": data.source}) + "\n", encoding="utf-8")
        staged.rename(target)  # whole or not at all: an interrupted build leaves no half folder
    say(f"fast variant: {', '.join(shipped) or 'none passed the gate; serving fp32'}")
    return target if shipped else model_dir
