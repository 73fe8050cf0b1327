"""The Hugging Face DLC's real serving stack as a local process: a model.tar.gz served by the toolkit and
multi-model-server from .venv-dlc (requirements-dlc.txt: the default DLC's pins), through
``dlc_serve.py``. Like a new container, every start extracts the archive afresh, and an archive with
``code/requirements.txt`` gets its own copy of the environment (hard links: seconds, no extra disk) for
the toolkit's start-up ``pip install``, so what one start installs never leaks into the next.

    python -m devstack.dlc --archive build/model/model.tar.gz --port 8081
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent.parent
DLC_VENV = ROOT / ".venv-dlc"
SERVE = Path(__file__).resolve().with_name("dlc_serve.py")
MMS_PORTS = range(20000, 32768)  # multi-model-server refuses higher ports ("Invalid port number", measured)


class DlcError(RuntimeError):
    """The real serving stack could not be set up or did not come up; the message says why."""


def free_mms_port() -> int:
    """A free loopback port multi-model-server accepts (the system's ephemeral ports are above its range)."""
    for port in random.sample(MMS_PORTS, 200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise DlcError(f"no free port in {MMS_PORTS.start}-{MMS_PORTS.stop - 1}")


def python_version() -> str:
    """``3.11``: the Python of .venv-dlc (its pyvenv.cfg), which archives served here must be built for."""
    config = DLC_VENV / "pyvenv.cfg"
    if not config.is_file():
        raise DlcError(f"{DLC_VENV} is missing: run `make install` (requirements-dlc.txt)")
    for line in config.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            return ".".join(value.strip().split(".")[:2])
    raise DlcError(f"{config} names no Python version")


def private_environment(run_dir: Path) -> Path:
    """A copy of .venv-dlc made of hard links, with its scripts pointing at the copy's interpreter."""
    copy = run_dir / "venv"
    subprocess.run(["cp", "-al", str(DLC_VENV), str(copy)], check=True)
    old = f"#!{DLC_VENV}/bin/"
    for script in (copy / "bin").iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        with script.open("rb") as fh:
            head = fh.read(len(old) + 64)
        if head.startswith(old.encode()):
            text = script.read_text(encoding="utf-8").replace(old, f"#!{copy}/bin/", 1)
            fresh = script.with_name(script.name + ".new")
            fresh.write_text(text, encoding="utf-8")  # a new file: the hard-linked original stays as it is
            fresh.chmod(script.stat().st_mode)
            fresh.replace(script)
    return copy


def extract(archive: Path, model_dir: Path) -> None:
    """The archive's content at ``model_dir``, as SageMaker extracts it to /opt/ml/model."""
    if archive.is_dir():
        shutil.copytree(archive, model_dir)
        return
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir, filter="data")


def _status(url: str, body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - loopback
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, TimeoutError, ConnectionError):
        return 0


@dataclass
class DlcContainer:
    archive: Path
    port: int
    run_dir: Path | None = None
    environment: dict[str, str] = field(default_factory=dict)  # the container's (the template's SageMakerModel)
    log: IO[Any] | None = None
    process: subprocess.Popen[bytes] | None = None
    extract_seconds: float | None = None  # model.tar.gz into model/, as SageMaker does before the container starts
    start_seconds: float | None = None  # spawn to the first answered invocation, pip install included
    private_env: bool = False
    owns_run_dir: bool = False  # made here: removed by stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 900) -> DlcContainer:
        if not (DLC_VENV / "bin" / "multi-model-server").exists():
            raise DlcError(f"{DLC_VENV} has no multi-model-server: run `make install` (requirements-dlc.txt)")
        if shutil.which("java") is None:
            raise DlcError("multi-model-server needs Java: apt-get install openjdk-17-jre-headless")
        if self.run_dir is None:
            self.run_dir, self.owns_run_dir = Path(tempfile.mkdtemp(prefix="dlc-")), True
        base = self.run_dir / "opt-ml"
        extracting = time.perf_counter()
        extract(self.archive, base / "model")
        self.extract_seconds = time.perf_counter() - extracting
        self.private_env = (base / "model" / "code" / "requirements.txt").exists()
        venv = private_environment(self.run_dir) if self.private_env else DLC_VENV
        (self.run_dir / "tmp").mkdir(exist_ok=True)  # MMS keeps its pid file in TMPDIR: one per run
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(venv / "bin" / "python"), str(SERVE), "--base-dir", str(base), "--port", str(self.port)],
            cwd=self.run_dir,
            env=self.process_environment(venv, self.run_dir / "tmp"),
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,  # MMS's Java frontend and its Python workers: one group to stop
        )
        self._wait(started, timeout)
        return self

    def process_environment(self, venv: Path, tmp: Path) -> dict[str, str]:
        """This process's environment less its own Python's and model settings (SP_* reach the container
        only through ``environment``: the template's, or --env, as on SageMaker), plus ``environment``."""
        leaks = ("VIRTUAL_ENV", "PYTHON", "SP_")
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(leaks)}
        path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        return {**inherited, **self.environment, "PATH": path, "TMPDIR": str(tmp)}

    def _wait(self, started: float, timeout: float) -> None:
        """Until an invocation is answered by the hooks (200, or 400 after a failed model_fn)."""
        probe = b'{"inputs": ["warm up"]}'
        while time.perf_counter() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise DlcError(f"the serving stack exited with code {self.process.returncode}")
            if _status(f"{self.url}/ping") == 200 and _status(f"{self.url}/invocations", probe) in (200, 400):
                self.start_seconds = time.perf_counter() - started
                return
            time.sleep(1)
        self.stop()
        raise DlcError(f"the serving stack did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None:
            for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
                if not self._group_alive():
                    break
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while self._group_alive() and time.monotonic() < deadline:
                    time.sleep(0.2)
        if self.owns_run_dir and self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def _group_alive(self) -> bool:
        if self.process is None:
            return False
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        self.process.poll()  # reap the leader if it has exited
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.dlc", description=__doc__.split("\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="model.tar.gz (or a directory laid out like one)")
    parser.add_argument("--port", type=int, default=8081, help=f"at most {MMS_PORTS.stop - 1} (MMS's limit)")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the container (repeatable)")
    args = parser.parse_args(argv)
    if not args.archive.exists():
        parser.error(f"--archive {args.archive} does not exist")
    environment = dict(item.split("=", 1) for item in args.env)
    container = DlcContainer(args.archive, args.port, environment=environment)
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        container.start()
        print(f"the DLC serving stack answers on {container.url} ({container.start_seconds:.1f} s to start)")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except DlcError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        container.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
