"""The Hugging Face DLC's serving stack on loopback: run with .venv-dlc's Python, never the project's.

    .venv-dlc/bin/python src/devstack/dlc_serve.py --base-dir DIR --port PORT

``DIR/model`` holds an extracted ``model.tar.gz``. This is the DLC's own start sequence, unchanged:
sagemaker-huggingface-inference-toolkit's ``start_model_server`` installs ``code/requirements.txt``
with this interpreter's pip when the archive has one, writes multi-model-server's config and starts
MMS (Java) with the toolkit's handler service, which imports ``code/inference.py``. Three things
differ from a container, each because this is a shared machine, not a container: ``/opt/ml`` is
``DIR`` (the toolkit's own ``SAGEMAKER_BASE_DIR``), MMS's config file lives in ``DIR`` instead of
``/etc``, and MMS listens on 127.0.0.1 instead of 0.0.0.0. Everything else (workers, timeouts) comes
from the ``SAGEMAKER_*`` variables the template sets, as in the DLC.

Standard library and the toolkit only: this file must not import the project.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The HF DLC serving stack (toolkit + MMS) on 127.0.0.1.")
    parser.add_argument("--base-dir", required=True, help="stands for /opt/ml: holds model/ (the archive)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    base = os.path.abspath(args.base_dir)
    # Read by sagemaker_inference at import: set before the toolkit is imported.
    os.environ["SAGEMAKER_BASE_DIR"] = base
    os.environ["SAGEMAKER_BIND_TO_PORT"] = str(args.port)
    os.environ.setdefault("HF_TASK", "text-classification")

    from sagemaker_huggingface_inference_toolkit import mms_model_server
    from sagemaker_inference import model_server

    config_file = os.path.join(base, "sagemaker-mms.properties")
    model_server.MMS_CONFIG_FILE = config_file  # written by _create_model_server_config_file
    mms_model_server.MMS_CONFIG_FILE = config_file  # passed to multi-model-server --mms-config
    generate = model_server._generate_mms_config_properties

    def loopback_only(env: object, handler_service: str | None = None) -> str:
        return str(generate(env, handler_service)).replace("http://0.0.0.0:", "http://127.0.0.1:")

    model_server._generate_mms_config_properties = loopback_only
    mms_model_server.start_model_server(handler_service=mms_model_server.DEFAULT_HANDLER_SERVICE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
