"""The peer in ``make bench``: infinity-emb, a serving engine users pick for encoder classifiers.

Runs with the peer's own interpreter (``.venv-peer``, from requirements-peer.txt), never imported by
the project: ``python bench/peer.py --model DIR --data dev.tsv``. It serves the same model
directory the benchmark built, on the same sentences, with its torch engine and dynamic batching,
and prints one JSON line: throughput over the sentences and the p50 of one short sentence.
Its optimum (ONNX Runtime) engine was tried too and does not load a local directory with the
optimum release the package index pairs with it (docs/benchmarks.md).
"""

import argparse
import asyncio
import json
import statistics
import time
from importlib import metadata

from infinity_emb import AsyncEngineArray, EngineArgs

SHORT = "This product is amazing, I loved it!"


async def measure(model: str, sentences: list[str], batch_size: int, repeats: int) -> dict[str, object]:
    args = EngineArgs(model_name_or_path=model, engine="torch", device="cpu", batch_size=batch_size)
    engine = AsyncEngineArray.from_args([args])[0]
    async with engine:
        await engine.classify(sentences=sentences[:batch_size])  # warm up
        started = time.perf_counter()
        answers, _ = await engine.classify(sentences=sentences)
        throughput = len(sentences) / (time.perf_counter() - started)
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            await engine.classify(sentences=[SHORT])
            samples.append((time.perf_counter() - started) * 1000)
    if len(answers) != len(sentences):
        raise RuntimeError(f"{len(answers)} answers for {len(sentences)} sentences")
    return {
        "name": f"peer: infinity-emb {metadata.version('infinity_emb')} (torch engine)",
        "sentences_per_s": throughput,
        "short_p50_ms": statistics.median(samples),
        "short_p99_ms": sorted(samples)[int(0.99 * (len(samples) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, help="SST-2 TSV (header row, sentence<TAB>label)")
    parser.add_argument("--limit", type=int, default=0, help="first N sentences only (0: all)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()
    with open(args.data, encoding="utf-8") as fh:
        sentences = [line.rstrip("\n").split("\t")[0] for line in fh][1:]
    sentences = sentences[: args.limit] if args.limit else sentences
    print(json.dumps(asyncio.run(measure(args.model, sentences, args.batch_size, args.repeats))))


if __name__ == "__main__":
    main()
