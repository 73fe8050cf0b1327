"""SageMaker Hugging Face inference toolkit hooks (``model_fn / input_fn / predict_fn / output_fn``).

Ships as ``code/inference.py`` in ``model.tar.gz`` with the modules of ``files.MODULES`` beside it. The
Hugging Face DLC imports it as the top-level module ``inference``; the local model server imports
``model.code.inference``. Standard library, torch and transformers only (a graph variant's runtime
comes from the wheels the archive ships). Wire format: the toolkit's ``{"inputs": str | [str],
"parameters": {...}}`` in, one ``{"label", "score"}`` per input out. Error codes: README, "How
inference.py reports errors". Settings: ``Settings`` below, read once by ``model_fn``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from transformers import AutoConfig, AutoTokenizer

if __package__:  # the project imports model.code.inference
    from . import backends, files, passes
else:  # the DLC puts code/ on sys.path and imports this file as the top-level module "inference"
    import backends  # type: ignore[no-redef]
    import files  # type: ignore[no-redef]
    import passes  # type: ignore[no-redef]

BAD_INPUT = "SP_BAD_INPUT"
MODEL_FAILURE = "SP_MODEL_FAILURE"
OVER_BUDGET = "SP_TOKEN_BUDGET"
PACKED_ROWS = 16  # packed rows of PACK_WIDTH tokens per pass (make bench: flat from 8 to 64 rows)
# fp32 is exact and needs nothing but the weights. The others are opt-in, and `make package-model`
# ships them only after its parity gate against fp32 on dev (README, Packaging).
DEFAULT_VARIANT = "fp32"
VARIANT_NAMES = tuple(backends.VARIANTS)
JSON = "application/json"

log = logging.getLogger("sentimentpulse.inference")


class InputError(ValueError):
    """The request payload is wrong (the caller's fault)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{BAD_INPUT}: {message}")


class TokenBudgetExceeded(InputError):
    """The request's texts hold more tokens (after truncation) than ``parameters.max_total_tokens``."""

    def __init__(self, tokens: int, budget: int) -> None:
        super().__init__(f"{OVER_BUDGET}: {tokens} tokens over the budget of {budget}")
        self.tokens, self.budget = tokens, budget


class ModelFailure(RuntimeError):
    """The model could not produce predictions (our fault)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"{MODEL_FAILURE}: {message}")


@dataclass
class LoadedModel:
    model: backends.Logits
    backend: Any  # what computes the logits: the torch module, ONNX Runtime's session or OpenVINO's model
    tokenizer: Any
    id2label: dict[int, str]
    max_length: int
    batch_size: int
    variant: str
    load_seconds: float
    packs: bool = False  # passes are Packed, not padded Batches


def _env_int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _host_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    """The model container's environment, checked once by ``model_fn`` (a bad value fails the load)."""

    variant: str  # SP_INFERENCE_VARIANT: a name in backends.VARIANTS (default fp32; a graph variant
    # whose graph or runtime is missing serves as fp32, logged)
    batch_size: int  # SP_MAX_BATCH_SIZE: per forward pass; 0 = the variant's (packed rows where PyTorch packs)
    threads: int  # SP_NUM_THREADS: intra-op threads; default CPUs // SAGEMAKER_MODEL_SERVER_WORKERS
    hub_id: str  # HF_MODEL_ID: the weights when the archive holds none (hub-direct mode)
    hub_revision: str | None  # HF_MODEL_REVISION: the commit of HF_MODEL_ID
    # SP_OPENVINO_PRECISION (openvino-int8 only) is read where it is used: backends.openvino_logits.

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        variant = env.get("SP_INFERENCE_VARIANT", "").strip() or DEFAULT_VARIANT
        if variant not in backends.VARIANTS:
            raise ValueError(f"SP_INFERENCE_VARIANT must be one of {VARIANT_NAMES}, got {variant!r}")
        workers = _env_int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", 1, 1, 512)
        return cls(
            variant=variant,
            batch_size=_env_int(env, "SP_MAX_BATCH_SIZE", 0, 1, 1024),
            threads=_env_int(env, "SP_NUM_THREADS", max(1, _host_threads() // workers), 1, 512),
            hub_id=env.get("HF_MODEL_ID", "").strip(),
            hub_revision=env.get("HF_MODEL_REVISION", "").strip() or None,
        )

    def weights(self, model_dir: str) -> tuple[str, str | None]:
        """(source, revision): the archive root when it holds a model, else HF_MODEL_ID at HF_MODEL_REVISION."""
        if os.path.isfile(os.path.join(model_dir, "config.json")):
            return model_dir, None
        if not self.hub_id:
            raise ValueError(f"{model_dir} holds no config.json and HF_MODEL_ID is not set: no weights to load")
        return self.hub_id, self.hub_revision


def code_digest() -> str:
    """sha256 over code/'s modules, logged at load: which code an endpoint runs."""
    digest = hashlib.sha256()
    for name in files.MODULES:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), name), "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:12]


def model_fn(model_dir: str, context: Any = None) -> LoadedModel:
    """Load tokenizer and model from ``model_dir`` (the extracted archive root) or from HF_MODEL_ID."""
    started = time.perf_counter()
    settings = Settings.from_env()
    torch.set_num_threads(settings.threads)

    source, revision = settings.weights(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    variant = backends.VARIANTS[settings.variant]
    graph = backends.find_graph(model_dir, variant.name) if variant.load_graph is not None else None
    if graph is not None and variant.load_graph is not None:
        logits, backend = variant.load_graph(graph, settings.threads)
        config = AutoConfig.from_pretrained(source, revision=revision)
    else:  # a PyTorch variant, or a graph variant whose graph or runtime is missing: PyTorch fp32
        variant = variant if variant.load_graph is None else backends.VARIANTS[DEFAULT_VARIANT]
        logits, backend, config = backends.torch_logits(source, revision, variant.dtype)
    packs = graph is None and config.model_type == "distilbert"
    batch_size = settings.batch_size or (PACKED_ROWS if packs else variant.batch_size)

    positions = getattr(config, "max_position_embeddings", None) or 512
    tokenizer_max = tokenizer.model_max_length if tokenizer.model_max_length < 100_000 else positions
    id2label = {int(k): str(v) for k, v in config.id2label.items()}
    loaded = LoadedModel(
        model=logits,
        backend=backend,
        tokenizer=tokenizer,
        id2label=id2label,
        max_length=min(positions, tokenizer_max),
        batch_size=batch_size,
        variant=variant.name,
        load_seconds=0.0,
        packs=packs,
    )
    _forward(loaded, encode(loaded, ["warm up"]))  # first-call allocations happen at load, not on a request
    loaded.load_seconds = time.perf_counter() - started
    log.info(
        "model loaded: code sha256=%s weights=%s%s variant=%s max_length=%d batch_size=%d packed=%s "
        "threads=%d labels=%s in %.2fs",
        code_digest(),
        source,
        f"@{revision}" if revision else "",
        variant.name,
        loaded.max_length,
        batch_size,
        "yes" if loaded.packs else "no",
        torch.get_num_threads(),
        sorted(id2label.values()),
        loaded.load_seconds,
    )
    return loaded


def input_fn(input_data: bytes | str, content_type: str = JSON, context: Any = None) -> dict[str, Any]:
    """Parse and check ``{"inputs": str | [str], "parameters": {...}}``."""
    if (content_type or JSON).split(";")[0].strip().lower() != JSON:
        raise InputError(f"content type must be {JSON}")
    try:
        text = input_data.decode("utf-8") if isinstance(input_data, bytes | bytearray) else input_data
        payload = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("body is not valid UTF-8 JSON") from None
    if not isinstance(payload, dict) or "inputs" not in payload:
        raise InputError('body must be a JSON object with "inputs"')
    inputs = payload["inputs"]
    single = isinstance(inputs, str)
    texts = [inputs] if single else inputs
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise InputError('"inputs" must be a string or a list of strings')
    parameters = payload.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise InputError('"parameters" must be an object')
    budget = parameters.get("max_total_tokens")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise InputError('"parameters.max_total_tokens" must be a positive integer')
    return {"inputs": texts, "parameters": parameters}


def encode(loaded: LoadedModel, texts: list[str]) -> list[list[int]]:
    """Token ids per text, truncated to the model's maximum length (what the model will compute)."""
    if not texts:
        return []  # the tokenizer raises on an empty batch
    ids: list[list[int]] = loaded.tokenizer(texts, truncation=True, max_length=loaded.max_length)["input_ids"]
    return ids


def budgeted_encode(data: dict[str, Any], loaded: LoadedModel) -> list[list[int]]:
    """Token ids of ``data["inputs"]``; over ``parameters.max_total_tokens`` it raises
    ``TokenBudgetExceeded`` (the caller's fault), and a tokenizer failure is a ``ModelFailure`` (ours).
    ``input_fn`` has checked that the budget, when given, is a positive integer."""
    try:
        encoded = encode(loaded, data["inputs"])
    except Exception as exc:
        log.exception("tokenization failed")
        raise ModelFailure(type(exc).__name__) from exc
    budget = (data.get("parameters") or {}).get("max_total_tokens")
    tokens = sum(len(ids) for ids in encoded)
    if budget is not None and tokens > budget:
        raise TokenBudgetExceeded(tokens, budget)
    return encoded


def _forward(loaded: LoadedModel, encoded: list[list[int]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = [{} for _ in encoded]
    with torch.inference_mode():
        pad_id = loaded.tokenizer.pad_token_id or 0
        chunks, batches = passes.plan(encoded, pad_id, loaded.batch_size, loaded.packs)
        for chunk, logits in zip(chunks, loaded.model(batches), strict=True):
            scores, labels = torch.softmax(logits.float(), dim=-1).max(dim=-1)
            for index, label, score in zip(chunk, labels.tolist(), scores.tolist(), strict=True):
                results[index] = {"label": loaded.id2label[label], "score": float(score)}
    return results


def predict_fn(data: dict[str, Any], loaded: LoadedModel, context: Any = None) -> list[dict[str, Any]]:
    """Length-sorted forward passes (``passes.plan``: packed or dynamically padded), truncated to the model's
    maximum length."""
    texts: list[str] = data["inputs"]
    if not texts:
        return []
    encoded = budgeted_encode(data, loaded)
    try:
        return _forward(loaded, encoded)
    except Exception as exc:  # report as a model failure, never as the caller's fault
        log.exception("inference failed")
        raise ModelFailure(type(exc).__name__) from exc


def output_fn(prediction: list[dict[str, Any]], accept: str = JSON, context: Any = None) -> str:
    accepted = (accept or JSON).split(";")[0].strip().lower()
    if accepted not in (JSON, "*/*"):
        raise InputError(f"accept must be {JSON}")
    return json.dumps(prediction)
