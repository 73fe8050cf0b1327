"""A random-weight classifier small enough to build in a test (model and devstack tiers)."""

from __future__ import annotations

from pathlib import Path

WORDS = ["good", "bad", "movie", "great", "awful", "the", "a", "was", "is", "not", "fun", "boring", "##s", "##ly"]


def make_tiny_model(directory: Path, seed: int = 0, max_positions: int = 512) -> Path:
    """A random-weight DistilBertForSequenceClassification with a tiny WordPiece vocabulary."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification, DistilBertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n", encoding="utf-8")
    tokenizer = DistilBertTokenizerFast(vocab_file=str(vocab), model_max_length=max_positions)
    torch.manual_seed(seed)
    config = DistilBertConfig(
        vocab_size=len(tokenizer),
        dim=32,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        max_position_embeddings=max_positions,
        id2label={0: "NEGATIVE", 1: "POSITIVE"},
        label2id={"NEGATIVE": 0, "POSITIVE": 1},
    )
    DistilBertForSequenceClassification(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
