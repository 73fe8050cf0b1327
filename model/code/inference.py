"""SageMaker Hugging Face inference toolkit hooks (``model_fn / input_fn / predict_fn / output_fn``).

Ships as ``code/inference.py`` in ``model.tar.gz`` with the modules of ``files.MODULES`` beside it. The
Hugging Face DLC imports it as the top-level module ``inference``; the local model server imports
``model.code.inference``. Standard library, torch and transformers only (a graph variant's runtime
is installed in the archive's ``code/``). Wire format: the toolkit's ``{"inputs": str | [str],
"parameters": {...}}`` in (``options.py`` lists the parameters), one answer per input out, and the
call's usage in the ``X-Amzn-SageMaker-Custom-Attributes`` response header. Settings: ``settings.py``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AutoConfig, AutoTokenizer

if __package__:  # the project imports model.code.inference
    from . import backends, identity, options, passes
    from . import settings as settings_module
else:  # the DLC puts code/ on sys.path and imports this file as the top-level module "inference"
    import backends  # type: ignore[no-redef]
    import identity  # type: ignore[no-redef]
    import options  # type: ignore[no-redef]
    import passes  # type: ignore[no-redef]
    import settings as settings_module  # type: ignore[no-redef]

# What callers of the hooks use, in one place.
BAD_INPUT, MODEL_FAILURE, OVER_BUDGET = options.BAD_INPUT, options.MODEL_FAILURE, options.OVER_BUDGET
InputError, ModelFailure, TokenBudgetExceeded = options.InputError, options.ModelFailure, options.TokenBudgetExceeded
Options, Settings = options.Options, settings_module.Settings

PACKED_ROWS = 16  # packed rows of PACK_WIDTH tokens per pass (make bench: flat from 8 to 64 rows)
DEFAULT_VARIANT = backends.DEFAULT_VARIANT
VARIANT_NAMES = tuple(backends.VARIANTS)
JSON = "application/json"
CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes"  # InvokeEndpoint returns it as CustomAttributes

log = logging.getLogger("sentimentpulse.inference")


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
    choice: str = ""  # why this variant: SP_INFERENCE_VARIANT, or auto's timings
    identity: identity.Identity = field(default_factory=lambda: identity.Identity("unknown", "unknown", None))


@dataclass
class Encoded:
    """A request's token ids as the model will compute them, and how many texts were cut."""

    ids: list[list[int]]
    truncated: int = 0

    @property
    def tokens(self) -> int:
        return sum(len(ids) for ids in self.ids)


class Answers(list[Any]):
    """predict_fn's answers (one per text), carrying what output_fn reports in CustomAttributes."""

    attributes: str = ""


def model_fn(model_dir: str, context: Any = None) -> LoadedModel:
    """Load tokenizer and model from ``model_dir`` (the extracted archive root) or from HF_MODEL_ID, as
    the variant SP_INFERENCE_VARIANT names, or (``auto``, the default) the fastest the archive holds."""
    started = time.perf_counter()
    settings = Settings.from_env()
    torch.set_num_threads(settings.threads)
    if settings.variant == backends.AUTO:
        loaded, reason = _fastest(model_dir, settings)
    else:
        loaded, reason = _load(model_dir, settings, settings.variant), "SP_INFERENCE_VARIANT"
    loaded.choice = reason
    loaded.identity = identity.identify(*settings.weights(model_dir))  # once: it hashes the weights' files
    loaded.load_seconds = time.perf_counter() - started
    log.info(
        "model loaded: code sha256=%s model=%s variant=%s (%s) max_length=%d batch_size=%d packed=%s "
        "threads=%d labels=%s in %.2fs",
        identity.code_sha256()[:12],
        loaded.identity.version,
        loaded.variant,
        reason,
        loaded.max_length,
        loaded.batch_size,
        "yes" if loaded.packs else "no",
        torch.get_num_threads(),
        sorted(loaded.id2label.values()),
        loaded.load_seconds,
    )
    return loaded


def _load(model_dir: str, settings: settings_module.Settings, name: str) -> LoadedModel:
    """One variant, warmed up; a graph variant whose graph or runtime is missing loads as fp32 (logged)."""
    source, revision = settings.weights(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    variant = backends.VARIANTS[name]
    graph = backends.find_graph(model_dir, variant.name) if variant.load_graph is not None else None
    if graph is not None and variant.load_graph is not None:
        logits, backend = variant.load_graph(graph, settings.threads)
        config = AutoConfig.from_pretrained(source, revision=revision)
    else:  # a PyTorch variant, or a graph variant whose graph or runtime is missing: PyTorch fp32
        variant = variant if variant.load_graph is None else backends.VARIANTS[DEFAULT_VARIANT]
        logits, backend, config = backends.torch_logits(source, revision, variant.dtype)
    packs = graph is None and config.model_type == "distilbert"
    positions = getattr(config, "max_position_embeddings", None) or 512
    tokenizer_max = tokenizer.model_max_length if tokenizer.model_max_length < 100_000 else positions
    loaded = LoadedModel(
        model=logits,
        backend=backend,
        tokenizer=tokenizer,
        id2label={int(k): str(v) for k, v in config.id2label.items()},
        max_length=min(positions, tokenizer_max),
        batch_size=settings.batch_size or (PACKED_ROWS if packs else variant.batch_size),
        variant=variant.name,
        load_seconds=0.0,
        packs=packs,
    )
    _forward(loaded, encode(loaded, ["warm up"]))  # first-call allocations happen at load, not on a request
    return loaded


# What the automatic choice times: a call of a few short and longer texts, the API's usual shape. Each
# turn is one call; 16 texts a turn made auto's 5 rounds about 3 s of every start of the fast archive.
PROBE = ["Great.", "Not what I hoped for at all.", "A quietly moving film, " * 8, "Awful service. " * 20]
PROBE_ROUNDS = 5


def _fastest(model_dir: str, settings: settings_module.Settings) -> tuple[LoadedModel, str]:
    """Among fp32 and the graph variants the archive holds (with their runtime installed), the one that
    runs PROBE fastest here: which is fastest depends on the CPU that serves (README, "Inference
    variants"), and packaging cannot see it. The candidates take turns, PROBE_ROUNDS rounds, and each
    keeps its best round: a burst of noise from a neighbour then hits every candidate alike."""
    names = [DEFAULT_VARIANT, *(v.name for v in backends.VARIANTS.values() if backends.has_graph(model_dir, v))]
    if len(names) == 1:
        return _load(model_dir, settings, DEFAULT_VARIANT), "auto: the archive holds no graph variant"
    candidates = [_load(model_dir, settings, name) for name in names]
    encoded = [encode(candidate, PROBE) for candidate in candidates]
    best = [float("inf")] * len(candidates)
    for _ in range(PROBE_ROUNDS):
        for number, candidate in enumerate(candidates):
            best[number] = min(best[number], _timed(candidate, encoded[number]))
    winner = min(range(len(candidates)), key=best.__getitem__)
    timings = ", ".join(f"{c.variant} {seconds * 1000:.1f} ms" for c, seconds in zip(candidates, best, strict=True))
    return candidates[winner], f"auto: fastest of {timings} on {len(PROBE)} texts, best of {PROBE_ROUNDS} turns"


def _timed(loaded: LoadedModel, encoded: list[list[int]]) -> float:
    started = time.perf_counter()
    _forward(loaded, encoded)
    return time.perf_counter() - started


def input_fn(input_data: bytes | str, content_type: str = JSON, context: Any = None) -> dict[str, Any]:
    """Parse and check ``{"inputs": str | [str], "parameters": {...}}`` (``options.Options``)."""
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
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise InputError('"inputs" must be a string or a list of strings')
    parameters = payload.get("parameters")
    asked = Options.parse(parameters)
    if asked.info and texts:
        raise InputError('"parameters.info" takes no inputs')
    return {"inputs": texts, "parameters": parameters or {}}


def encode(loaded: LoadedModel, texts: list[str]) -> list[list[int]]:
    """Token ids per text, truncated to the model's maximum length (what the model will compute)."""
    if not texts:
        return []  # the tokenizer raises on an empty batch
    ids: list[list[int]] = loaded.tokenizer(texts, truncation=True, max_length=loaded.max_length)["input_ids"]
    return ids


def _full_lengths(loaded: LoadedModel, texts: list[str]) -> list[int]:
    return [len(ids) for ids in loaded.tokenizer(texts, truncation=False, verbose=False)["input_ids"]]


def budgeted_encode(data: dict[str, Any], loaded: LoadedModel) -> Encoded:
    """Token ids of ``data["inputs"]``, checked against its options before any model work: texts too
    long with truncation off (``TextsTooLong``), tokens over ``max_total_tokens``
    (``TokenBudgetExceeded``); a tokenizer failure is a ``ModelFailure``."""
    asked = Options.parse(data.get("parameters"))
    texts: list[str] = data["inputs"]
    try:
        ids = encode(loaded, texts)
        # A text at the maximum length may have been cut: only those are counted again, uncut.
        full = [i for i, row in enumerate(ids) if len(row) >= loaded.max_length]
        lengths = dict(zip(full, _full_lengths(loaded, [texts[i] for i in full]), strict=True)) if full else {}
    except Exception as exc:
        log.exception("tokenization failed")
        raise ModelFailure(type(exc).__name__) from exc
    over = [(i, n) for i, n in sorted(lengths.items()) if n > loaded.max_length]
    if over and not asked.truncation:
        raise options.TextsTooLong(over, loaded.max_length)
    encoded = Encoded(ids, truncated=len(over))
    if asked.max_total_tokens is not None and encoded.tokens > asked.max_total_tokens:
        raise TokenBudgetExceeded(encoded.tokens, asked.max_total_tokens)
    return encoded


def custom_attributes(loaded: LoadedModel, encoded: Encoded) -> str:
    """What an answer reports beside its body (SageMaker passes it through as CustomAttributes)."""
    return f"tokens={encoded.tokens};truncated={encoded.truncated};model={loaded.identity.version}"


def report(loaded: LoadedModel) -> dict[str, Any]:
    """The info call's answer: which model, revision and code serve (``handler.model_wire.ModelReport``)."""
    return {
        "model_id": loaded.identity.model_id,
        "revision": loaded.identity.revision,
        "name": loaded.identity.name,
        "labels": [loaded.id2label[i] for i in sorted(loaded.id2label)],
        "inference_sha256": identity.file_sha256("inference.py"),
        "code_sha256": identity.code_sha256(),
        "variant": loaded.variant,
        "max_length": loaded.max_length,
    }


def _forward(loaded: LoadedModel, encoded: list[list[int]]) -> list[torch.Tensor]:
    """Each text's logits (1-D), in input order."""
    results: list[torch.Tensor] = [torch.empty(0)] * len(encoded)
    with torch.inference_mode():
        pad_id = loaded.tokenizer.pad_token_id or 0
        chunks, batches = passes.plan(encoded, pad_id, loaded.batch_size, loaded.packs)
        for chunk, logits in zip(chunks, loaded.model(batches), strict=True):
            for index, row in zip(chunk, logits, strict=True):
                results[index] = row
    return results


def predict_fn(data: dict[str, Any], loaded: LoadedModel, context: Any = None) -> Any:
    """Length-sorted forward passes (``passes.plan``: packed or dynamically padded); one answer per text
    (``Options.answer``), or the info report."""
    asked = Options.parse(data.get("parameters"))
    if asked.info:
        return report(loaded)
    texts: list[str] = data["inputs"]
    if not texts:
        return Answers()
    encoded = budgeted_encode(data, loaded)
    try:
        answers = Answers(asked.answer(row, loaded.id2label) for row in _forward(loaded, encoded.ids))
    except Exception as exc:  # report as a model failure, never as the caller's fault
        log.exception("inference failed")
        raise ModelFailure(type(exc).__name__) from exc
    answers.attributes = custom_attributes(loaded, encoded)
    return answers


def output_fn(prediction: Any, accept: str = JSON, context: Any = None) -> str:
    """JSON; with the toolkit's context, the answer's usage goes in the CustomAttributes header."""
    accepted = (accept or JSON).split(";")[0].strip().lower()
    if accepted not in (JSON, "*/*"):
        raise InputError(f"accept must be {JSON}")
    if context is not None and isinstance(prediction, Answers) and prediction.attributes:
        context.set_response_header(0, CUSTOM_ATTRIBUTES, prediction.attributes)
    return json.dumps(prediction)
