"""The local stack: model server + local API, started in order and stopped together.

`make local` runs ``main``; the integration tests, the load test and the benchmark use ``LocalStack``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_MODEL = ROOT / "model" / "embedded"
SEED = {"text": "This product is amazing, I loved it!"}
LOG_TAIL_LINES = 8  # of the children's log, in the error when the stack does not start
LOG_TAIL_BYTES = 64 * 1024


def free_port() -> int:
    """A free TCP port on loopback (for stacks started by tests, the load test and the benchmark)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[bytes], what: str, timeout: float, progress: bool = False) -> None:
    deadline = time.monotonic() + timeout
    shown = False
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback URL
                if response.status == 200:
                    if shown:
                        print(file=sys.stderr)
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if progress:
            if not shown:
                print(f"waiting for {what} ({url}) ", end="", file=sys.stderr, flush=True)
                shown = True
            print(".", end="", file=sys.stderr, flush=True)
        time.sleep(0.2)
    raise RuntimeError(f"{what} was not ready after {timeout:.0f}s")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class LocalStack:
    model: str = str(DEFAULT_MODEL)
    api_port: int = 3000
    model_port: int = 8080
    concurrency: int = 4
    fault_injection: bool = False
    function_env: dict[str, str] = field(default_factory=dict)  # overrides of events/env.json
    server_args: list[str] = field(default_factory=list)
    upstream: str | None = None  # a serving container's URL (devstack/dlc.py): the runtime front, not our server
    model_env: dict[str, str] = field(default_factory=dict)  # the model server's environment, over ours
    log: IO[Any] | None = None  # where the children's logs go (default: inherited)
    progress: bool = False
    model_server: subprocess.Popen[bytes] | None = None
    api: subprocess.Popen[bytes] | None = None

    @property
    def model_url(self) -> str:
        return f"http://127.0.0.1:{self.model_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _spawn(self, module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdout=self.log,
            stderr=self.log,
            env={**os.environ, **env} if env else None,
        )

    def start_model_server(self, timeout: float = 600) -> None:
        if self.upstream is not None:
            self.model_server = self._spawn(
                "devstack.runtime_front", "--upstream", self.upstream, "--port", str(self.model_port)
            )
            wait_ready(f"{self.model_url}/ping", self.model_server, "the runtime front", timeout, self.progress)
            return
        args = ["--model", self.model, "--port", str(self.model_port), *self.server_args]
        if self.fault_injection:
            args.append("--enable-fault-injection")
        self.model_server = self._spawn("devstack.server", *args, env=self.model_env)
        wait_ready(f"{self.model_url}/ping", self.model_server, "the model server", timeout, self.progress)

    def stop_model_server(self) -> None:
        stop_process(self.model_server)

    def start_api(self, timeout: float = 120) -> None:
        overrides = [f"--env={k}={v}" for k, v in self.function_env.items()]
        self.api = self._spawn(
            "devstack.api",
            "--port", str(self.api_port), "--model-url", self.model_url, "--concurrency", str(self.concurrency),
            *overrides,
        )  # fmt: skip
        wait_ready(f"{self.api_url}/openapi.json", self.api, "the local API", timeout, self.progress)

    def start(self) -> LocalStack:
        try:
            self.start_model_server()
            self.start_api()
        except RuntimeError as exc:  # a process exited or never got ready: say why, from its log
            self.stop()
            raise RuntimeError(f"{exc}{self._log_tail()}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def _log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of the children's log when it is a file (else where the log went)."""
        if self.log is None:
            return ""  # inherited: the lines are already on the terminal
        name = getattr(self.log, "name", None)
        if not isinstance(name, str) or not Path(name).is_file():
            return f"; its log went to {name or 'a stream'}"
        self.log.flush()
        with open(name, "rb") as log:
            log.seek(max(0, Path(name).stat().st_size - LOG_TAIL_BYTES))
            tail = log.read().decode("utf-8", errors="replace").splitlines()[-lines:]
        return "; the last lines of its log:\n" + "\n".join(tail)

    def stop(self) -> None:
        stop_process(self.api)
        stop_process(self.model_server)

    def load_error(self) -> str | None:
        """Why the model did not load, when it did not (our model server; the process stays up, as MMS does)."""
        return None if self.upstream is not None else self._stats().get("load_error")

    def variant(self) -> str | None:
        """The variant our model server loaded (``auto`` chose it, or SP_INFERENCE_VARIANT pinned it)."""
        return None if self.upstream is not None else self._stats().get("variant")

    def choice(self) -> str | None:
        """Why that variant: ``SP_INFERENCE_VARIANT``, or auto's timings on this CPU."""
        return None if self.upstream is not None else self._stats().get("choice")

    def _stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.model_url}/_local/stats", timeout=10) as answer:  # noqa: S310 - loopback
            stats: dict[str, Any] = json.loads(answer.read())
        return stats

    def alive(self) -> bool:
        return all(p is not None and p.poll() is None for p in (self.model_server, self.api))


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.stack", description="Serve POST /predict offline.")
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="model directory, model.tar.gz, or Hub id")
    parser.add_argument("--api-port", type=int, default=3000, help="local API port (sam local start-api's default)")
    parser.add_argument("--model-port", type=int, default=8080, help="local model server port")
    parser.add_argument("--concurrency", type=int, default=4, help="Lambda environments behind the API")
    args = parser.parse_args(argv)

    stack = LocalStack(args.model, args.api_port, args.model_port, args.concurrency, progress=True)
    # Ctrl-C, SIGTERM and a closed terminal all stop both processes the same way.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _raise_keyboard_interrupt)
    try:
        stack.start()
        if (error := stack.load_error()) is not None:
            print(
                f"\nerror: the model did not load: {error}\n"
                "The stack keeps serving as a deployed endpoint would (/ping stays healthy): every request\n"
                "answers 502 MODEL_ERROR, and each one tries the load again.",
                file=sys.stderr,
                flush=True,
            )
        print(
            f"\nSentimentPulse is serving on {stack.api_url}  (model: {args.model}, variant: {stack.variant()})\n\n"
            f"  curl -s -X POST {stack.api_url}/predict -H 'Content-Type: application/json' \\\n"
            f"       -d '{json.dumps(SEED)}'\n\n"
            f"  OpenAPI: {stack.api_url}/openapi.json    model server: {stack.model_url}/ping\n"
            "  Press Ctrl-C to stop both.\n",
            flush=True,
        )
        while stack.alive():
            time.sleep(0.5)
        print("a local process exited; stopping the stack", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", file=sys.stderr)
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
