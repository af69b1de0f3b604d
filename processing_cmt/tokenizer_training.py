# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Train a small RoBERTa-style tokenizer offline, for tiny models (tests, the offline quickstart) or a new domain."""

import tempfile
from collections.abc import Iterable
from pathlib import Path

from transformers import RobertaTokenizerFast


# RoBERTa's special tokens, in RoBERTa's id order: <s>=0, <pad>=1, </s>=2, <unk>=3, <mask>=4.
ROBERTA_SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def train_roberta_tokenizer(
    texts: Iterable[str], vocab_size: int = 1000, model_max_length: int = 128
) -> RobertaTokenizerFast:
    """Trains a byte-level BPE on `texts` and wraps it as a `RobertaTokenizerFast` with RoBERTa's special tokens and
    ids (`<s>`=0, `<pad>`=1, `</s>`=2, `<unk>`=3, `<mask>`=4), so it drops in wherever RoBERTa's tokenizer goes.

    Args:
        texts (`Iterable[str]`): the training sentences.
        vocab_size (`int`, *optional*, defaults to 1000): the vocabulary size, special tokens included (the result
            can be smaller when the texts hold fewer merges).
        model_max_length (`int`, *optional*, defaults to 128): the length the tokenizer truncates to.
    """
    from tokenizers import ByteLevelBPETokenizer

    texts = [text for text in texts if text.strip()]
    if not texts:
        raise ValueError("Cannot train a tokenizer on no text.")
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=1, special_tokens=ROBERTA_SPECIAL_TOKENS, show_progress=False
    )
    with tempfile.TemporaryDirectory() as directory:
        bpe.save_model(directory)
        merges_lines = (Path(directory) / "merges.txt").read_text(encoding="utf-8").splitlines()
    merges = [tuple(line.split()) for line in merges_lines if line and not line.startswith("#")]
    return RobertaTokenizerFast(vocab=bpe.get_vocab(), merges=merges, model_max_length=model_max_length)


__all__ = ["ROBERTA_SPECIAL_TOKENS", "train_roberta_tokenizer"]
