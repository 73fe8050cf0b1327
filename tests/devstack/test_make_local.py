"""`make local` as a user runs it: the fast variant built (or reused) and chosen at load, the seed answered.

The first run on a clean checkout builds and gates the embedded model's openvino-int8 graph under
build/local-model (minutes on 2 cores); later runs reuse it. ``auto`` then times fp32 against the graph
on this CPU and serves the faster, so the test checks what was built, that the log names the choice and
its timings, and that both variants answer the seed within 0.01 of fp32.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import SEED, free_port
from model.code import inference
from tests.support import ROOT, Http, make_env

pytestmark = [pytest.mark.devstack, pytest.mark.timeout(1200)]

EMBEDDED = ROOT / "model" / "embedded"
SERVING = re.compile(r"SentimentPulse is serving on (\S+)  \(model: (\S+), variant: (\S+)\)")


def seed_score(model_dir: Path, variant: str, monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setenv("SP_INFERENCE_VARIANT", variant)
    loaded = inference.model_fn(str(model_dir))
    assert loaded.variant == variant
    [answer] = inference.predict_fn({"inputs": [SEED["text"]], "parameters": {}}, loaded)
    assert answer["label"] == "POSITIVE"
    return float(answer["score"])


@pytest.fixture(scope="module")
def make_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`make local` on free ports: (its output up to the serving line, the log file)."""
    log = tmp_path_factory.mktemp("make-local") / "make-local.log"
    command = ["make", "--no-print-directory", "local", f"API_PORT={free_port()}", f"MODEL_PORT={free_port()}"]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True, env=make_env()
        )
    try:
        deadline = time.monotonic() + 1100
        while not SERVING.search(log.read_text(errors="replace")):
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(1)
        yield log.read_text(errors="replace"), log
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # make, the stack and both servers: one process group
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_make_local_serves_the_seed_on_the_variant_it_names(
    make_local: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    output, _ = make_local
    match = SERVING.search(output)
    assert match is not None
    url, folder, variant = match.groups()
    assert Path(folder).parent == ROOT / "build" / "local-model"  # the built folder, not model/embedded
    assert (Path(folder) / "openvino" / "model-int8.xml").is_file()
    assert re.search(
        rf"variant={re.escape(variant)} \(auto: fastest of fp32 [\d.]+ ms, openvino-int8 [\d.]+ ms", output
    )
    status, _, body = Http(url).post_json("/predict", SEED)
    assert status == 200, body
    [served] = body
    reference = seed_score(EMBEDDED, "fp32", monkeypatch)
    assert served["label"] == "POSITIVE" and served["score"] == pytest.approx(reference, abs=0.01)
    assert seed_score(Path(folder), "openvino-int8", monkeypatch) == pytest.approx(reference, abs=0.01)
