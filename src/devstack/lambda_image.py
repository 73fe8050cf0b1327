"""Build a local stand-in for ``public.ecr.aws/lambda/python:3.13-x86_64`` where no registry is reachable.

``sam local`` runs the function in that image. Where it can be pulled, pull it and skip this. Offline,
this module assembles an image ``FROM scratch`` out of what the machine has:

- a CPython 3.13 (``--python``; default: ``python3.13`` on PATH, else pyenv's newest 3.13) at
  ``/var/lang``, as in the real image, without its test suite;
- the AWS Lambda runtime interface client (``awslambdaric``) and boto3 (the runtime provides boto3;
  the function's zip does not carry it), as python3.13 manylinux wheels from the package index;
- the shared libraries that Python, its extension modules, those wheels and the built function's
  compiled wheels load, found with ``ldd`` (not a fixed list), at their host paths;
- a static busybox for the ``/bin/sh``, ``mv`` and ``chmod`` that SAM CLI's derived image runs;
- ``/var/runtime/bootstrap`` (what the runtime interface emulator starts) and ``/lambda-entrypoint.sh``.

Run ``python -m devstack.lambda_image --help``; ``make lambda-image`` builds it.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from devstack.lambda_package import build_function

IMAGE = "public.ecr.aws/lambda/python:3.13-x86_64"
RUNTIME_PACKAGES = ("awslambdaric==4.2.2", "boto3==1.44.8", "botocore==1.44.8")
BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "mv", "chmod", "cp", "rm", "mkdir", "ls", "cat", "env")
BOOTSTRAP = '#!/bin/sh\nexec /var/lang/bin/python3.13 -m awslambdaric "${_HANDLER:-$1}"\n'
ENTRYPOINT = """#!/bin/sh
# The real image's entry point: with no Runtime API around, start the emulator in front of bootstrap.
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ] && [ -x /usr/local/bin/aws-lambda-rie ]; then
  exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap "$@"
fi
export _HANDLER="${_HANDLER:-$1}"
exec /var/runtime/bootstrap "$@"
"""
DOCKERFILE = """FROM scratch
COPY rootfs/ /
ENV LANG=C.UTF-8 TZ=:UTC PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin \\
    LD_LIBRARY_PATH=/var/lang/lib:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib64 \\
    LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime PYTHONDONTWRITEBYTECODE=1
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
"""
LDD_LINE = re.compile(r"=>\s+(/\S+)|^\s*(/\S+)\s+\(")


class ImageError(Exception):
    """The image cannot be built here (no Python 3.13, no Docker, no busybox)."""


def find_python313(explicit: str | None) -> Path:
    candidates = [explicit] if explicit else [shutil.which("python3.13")]
    if not explicit:
        pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
        candidates += sorted(glob.glob(str(pyenv_root / "versions" / "3.13.*" / "bin" / "python3.13")), reverse=True)
    for candidate in candidates:
        if not candidate:
            continue
        try:
            out = subprocess.run([candidate, "-c", "import sys; print(sys.prefix, sys.version_info[:2] == (3, 13))"],
                                 capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        prefix, ok = out.stdout.split()
        if ok == "True":
            return Path(prefix)
    raise ImageError(
        "no CPython 3.13 found (tried --python, python3.13 on PATH and pyenv). Install one "
        "(for example `pyenv install 3.13`), or, where registries are reachable, pull the real image: "
        f"`docker pull {IMAGE}`"
    )


def shared_libraries(binaries: list[Path], inside: Path) -> set[Path]:
    """Every library the binaries load (ldd), except those already inside ``inside``."""
    found: set[Path] = set()
    for binary in binaries:
        result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False)
        for line in result.stdout.splitlines():
            match = LDD_LINE.search(line)
            path = match and Path(match.group(1) or match.group(2))
            if path and path.exists() and inside not in path.resolve().parents:
                found.add(path)
    return found


def elf_files(root: Path) -> list[Path]:
    return [
        p for p in root.rglob("*") if p.is_file() and (p.suffix == ".so" or ".so." in p.name or p.parent.name == "bin")
    ]


def assemble(rootfs: Path, prefix: Path, function_dir: Path) -> None:
    lang = rootfs / "var" / "lang"
    print(f"copying CPython 3.13 from {prefix}", file=sys.stderr)
    skip = shutil.ignore_patterns("test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "*.a")
    shutil.copytree(prefix, lang, symlinks=True, ignore=skip)
    site = next(lang.glob("lib/python3.13/site-packages"))
    print(f"installing {', '.join(RUNTIME_PACKAGES)} (python3.13 wheels)", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
         "--target", str(site), "--platform", "manylinux2014_x86_64", "--python-version", "3.13",
         "--implementation", "cp", "--only-binary=:all:", *RUNTIME_PACKAGES],
        check=True,
    )  # fmt: skip
    # The real runtime ships its boto3 compiled; so does this one (pip ran under another Python).
    subprocess.run([str(prefix / "bin" / "python3.13"), "-m", "compileall", "-q", "-j0", str(site)], check=True)
    binaries = elf_files(lang) + elf_files(function_dir) + [BUSYBOX]  # a non-static busybox needs libc
    libraries = shared_libraries(binaries, lang)
    print(f"copying {len(libraries)} shared libraries found by ldd over {len(binaries)} binaries", file=sys.stderr)
    for library in sorted(libraries):
        target = rootfs / library.relative_to("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(library.resolve(), target)
    (rootfs / "bin").mkdir(exist_ok=True)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    for applet in APPLETS:
        (rootfs / "bin" / applet).symlink_to("busybox")
    for directory in ("var/task", "var/runtime", "tmp", "opt", "usr/local/bin", "etc"):
        (rootfs / directory).mkdir(parents=True, exist_ok=True)
    (rootfs / "tmp").chmod(0o1777)
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nsbx_user1051:x:993:990::/home:/bin/sh\n")
    for path, text in ((rootfs / "var/runtime/bootstrap", BOOTSTRAP), (rootfs / "lambda-entrypoint.sh", ENTRYPOINT)):
        path.write_text(text)
        path.chmod(0o755)


def image_exists(tag: str = IMAGE) -> bool:
    try:
        found = subprocess.run(["docker", "image", "inspect", tag], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.SubprocessError):  # no docker here, or its daemon hangs
        return False
    return found.returncode == 0


def build(tag: str, python: str | None) -> None:
    if shutil.which("docker") is None:
        raise ImageError("docker is not installed (Debian: apt-get install docker.io)")
    if not BUSYBOX.is_file():
        raise ImageError(f"{BUSYBOX} not found (Debian: apt-get install busybox-static)")
    prefix = find_python313(python)
    with tempfile.TemporaryDirectory(prefix="lambda-image-") as tmp:
        context = Path(tmp)
        print("building the function (its compiled wheels decide which libraries the image needs)", file=sys.stderr)
        function_dir = build_function(context / "function")
        assemble(context / "rootfs", prefix, function_dir)
        (context / "Dockerfile").write_text(DOCKERFILE)
        print(f"docker build -t {tag}", file=sys.stderr)
        subprocess.run(["docker", "build", "--quiet", "-t", tag, str(context)], check=True, stdout=subprocess.DEVNULL)
    smoke = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "/var/lang/bin/python3.13", tag, "-c",
         "import awslambdaric, boto3, ssl, sqlite3, json; print('ok')"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if smoke.stdout.strip() != "ok":
        raise ImageError(f"the built image does not start Python: {smoke.stderr.strip()[-500:]}")
    print(f"built {tag}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.lambda_image", description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", default=IMAGE, help=f"image tag (default: {IMAGE}, what SAM CLI looks for)")
    parser.add_argument("--python", default=None, help="a CPython 3.13 interpreter (default: found on the machine)")
    parser.add_argument("--if-missing", action="store_true", help="do nothing when the tag already exists")
    args = parser.parse_args(argv)
    try:
        if args.if_missing and image_exists(args.tag):
            print(f"{args.tag} is already present", file=sys.stderr)
            return 0
        build(args.tag, args.python)
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(map(str, exc.cmd))[:200]} failed with exit code {exc.returncode}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
