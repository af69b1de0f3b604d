# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The data path at 960 h (issue #11, §3): what the prepared corpus holds and how long the scripts take to their first
training batch, per hour of audio, prepared the way they did before (every waveform decoded, resampled and normalised
up front into float32 Arrow rows) and the way they do now (`examples/cmt_data.py`: token ids and lengths read from the
file headers; the audio decoded by a `with_transform` as batches are read), projected to LibriSpeech's 960 h.

The corpus is generated in LibriSpeech's layout (FLAC at 16 kHz, upper-case transcripts of about 2.7 words a second)
with LibriSpeech's spread of durations, 2-35 s. The costs that grow with the audio (decoding, float32 rows) are
projected by hours, those that grow with the utterances (reading headers, token ids) by LibriSpeech's 281,241
training utterances. Codeword ids (pretraining) are the same in both ways and counted apart: one int16 per 20 ms
frame. Both ways prepare whole utterances (the old default cut them at 15 s, pairing transcripts with part of their
audio), so that both hand the model the same audio.

    python benchmarks/bench_data_path.py                  # 0.2 h of audio, about half a minute on one CPU core
    python benchmarks/bench_data_path.py --hours 0.5 --output benchmarks/results/data_path.json
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
REPO_ROOT = Path(__file__).resolve().parents[1]
for path in (REPO_ROOT / "tests", REPO_ROOT / "examples", REPO_ROOT):  # a source checkout, uninstalled
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import numpy as np  # noqa: E402
from cmt_arguments import PretrainingDataArguments  # noqa: E402
from cmt_data import audio_num_samples, preprocess_corpus, with_audio_decoding  # noqa: E402
from corpus_fixtures import make_librispeech_tree, write_audio  # noqa: E402
from datasets import DatasetDict  # noqa: E402
from datasets.utils.logging import disable_progress_bar  # noqa: E402
from report import data_path_markdown  # noqa: E402
from transformers import TrainingArguments, Wav2Vec2FeatureExtractor  # noqa: E402

from processing_cmt import CMTProcessor, DataCollatorForCMT, load_librispeech, train_roberta_tokenizer  # noqa: E402


# LibriSpeech's training subsets (train-clean-100 + train-clean-360 + train-other-500), the paper's pretraining corpus.
LIBRISPEECH_960H = {"hours": 960.9, "utterances": 281_241}
SAMPLING_RATE = 16000
FRAMES_PER_SECOND = 50  # HuBERT's 20 ms frames: one codeword id (int16) each
BATCH_SIZE = 16  # the README's per-device pretraining batch
WORDS = (
    "THE AND OF TO A IN HE THAT WAS IT HIS I WITH HAD AS YOU FOR HER BUT SHE NOT AT IS ON BE HIM BY ALL SO THEY "
    "WHICH HAVE FROM WERE MY ONE THIS SAID THERE WHEN WHAT NO OR AN WOULD THEM IF ME YOUR COULD OUT UPON LITTLE "
    "GREAT MAN TIME VERY BEFORE LIKE HOUSE NIGHT AGAIN THOUGHT MOTHER FOREST LETTER GARDEN SILENCE WINDOW"
).split()


def librispeech_durations(total_seconds: float, rng: np.random.Generator) -> list[float]:
    """Utterance durations with LibriSpeech's shape: most 12-17 s (its segmenter's target), short and long tails,
    2-35 s in all; about 12-13 s on average, as the 281,241 utterances of its 960.9 h."""
    durations = []
    while sum(durations) < total_seconds:
        kind = rng.random()
        if kind < 0.25:
            durations.append(float(rng.uniform(2.0, 10.0)))
        elif kind < 0.95:
            durations.append(float(np.clip(rng.normal(14.5, 1.5), 10.0, 17.0)))
        else:
            durations.append(float(rng.uniform(17.0, 35.0)))
    return durations


def write_corpus(root: Path, hours: float, seed: int) -> tuple[Path, list[str]]:
    """A LibriSpeech tree of `hours` of FLAC audio in train-clean-100; returns its root and the transcripts."""
    rng = np.random.default_rng(seed)
    durations = librispeech_durations(hours * 3600, rng)
    texts = [" ".join(rng.choice(WORDS, size=max(2, round(2.7 * seconds)))) for seconds in durations]
    specs = [(f"19-198-{i:04d}", "train-clean-100", text, True, True) for i, text in enumerate(texts)]
    tree = make_librispeech_tree(root, specs)
    for index, (utterance, seconds) in enumerate(zip(tree.utterances, durations)):
        write_audio(utterance.flac, seconds, index)
    return tree.root, texts


def build_processor(texts: list[str]) -> CMTProcessor:
    tokenizer = train_roberta_tokenizer(texts, vocab_size=2000, model_max_length=512)
    extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLING_RATE, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )
    return CMTProcessor(feature_extractor=extractor, tokenizer=tokenizer)


def prepare_before(corpus: DatasetDict, processor: CMTProcessor) -> DatasetDict:
    """The scripts' preprocessing before issue #11: every waveform decoded, resampled, normalised and stored."""

    def prepare(batch):
        features = processor(text=batch["text"], audio=batch["audio"], padding=False)
        lengths = [len(values) for values in features["input_values"]]
        return {"input_ids": features["input_ids"], "input_values": features["input_values"], "length": lengths}

    return DatasetDict(
        {
            split: dataset.map(prepare, batched=True, batch_size=32, remove_columns=dataset.column_names)
            for split, dataset in corpus.items()
        }
    )


def prepare_now(corpus: DatasetDict, processor: CMTProcessor, training_args) -> DatasetDict:
    """The scripts' preprocessing now: `preprocess_corpus`, then the decoding transform."""
    prepared = preprocess_corpus(corpus, processor, training_args, PretrainingDataArguments())
    return with_audio_decoding(prepared, processor)


def stored_bytes(corpus: DatasetDict) -> int:
    """Bytes of the prepared Arrow tables: in memory (`Dataset.from_list` corpora, as the builders make them) or,
    for a corpus read from disk, in the datasets cache."""
    return sum(dataset.data.nbytes for dataset in corpus.values())


def first_batch(dataset, collator) -> dict:
    """The first training batch, as the length-grouped sampler starts: the longest utterances first."""
    lengths = np.asarray(dataset.with_format(None)["length"][:])
    indices = np.argsort(-lengths, kind="stable")[:BATCH_SIZE].tolist()
    return collator(dataset.__getitems__(indices))


def measure(corpus: DatasetDict, processor: CMTProcessor, training_args, way: str) -> dict:
    """Seconds from the corpus as the builder reads it to the first collated batch, and the bytes the prepared corpus
    holds."""
    collator = DataCollatorForCMT(processor.tokenizer)
    start = time.perf_counter()
    prepared = prepare_before(corpus, processor) if way == "before" else prepare_now(corpus, processor, training_args)
    ready = time.perf_counter()
    batch = first_batch(prepared["train"], collator)
    done = time.perf_counter()
    assert batch["input_values"].shape[0] == min(BATCH_SIZE, len(prepared["train"]))
    return {
        "prepare_s": ready - start,
        "first_batch_s": done - ready,
        "to_first_batch_s": done - start,
        "stored_bytes": stored_bytes(prepared),
        "prepared": prepared,
    }


def per_utterance_work(corpus: DatasetDict, processor: CMTProcessor) -> float:
    """Seconds of the preparation that grow with the utterances now: a header read and a tokenisation each (the
    rest of `preprocess_corpus` is a fixed cost of `datasets.map`)."""
    rows = corpus["train"]
    audios, texts = list(rows["audio"]), list(rows["text"])
    start = time.perf_counter()
    for index, audio in enumerate(audios):
        audio_num_samples(audio, SAMPLING_RATE, name=f"train[{index}]")
    processor(text=texts, padding=False)
    return time.perf_counter() - start


def decoding_rate(prepared: DatasetDict) -> float:
    """Audio seconds one process decodes, resamples and normalises per second through the transform."""
    dataset = prepared["train"]
    start = time.perf_counter()
    samples = 0
    for offset in range(0, len(dataset), BATCH_SIZE):
        rows = dataset.__getitems__(list(range(offset, min(offset + BATCH_SIZE, len(dataset)))))
        samples += sum(len(row["input_values"]) for row in rows)
    return samples / SAMPLING_RATE / (time.perf_counter() - start)


def data_path_section(hours: float = 0.2, seed: int = 0, workdir: str | None = None) -> dict:
    """Both ways on a generated corpus of `hours` of audio; figures per hour and projected to 960 h."""
    disable_progress_bar()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        root, texts = write_corpus(Path(tmp), hours, seed)
        processor = build_processor(texts)
        training_args = TrainingArguments(os.path.join(tmp, "run"), report_to="none", use_cpu=True)
        start = time.perf_counter()
        corpus = load_librispeech(root)  # the same for both ways: the builder lists files and reads transcripts
        load_s = time.perf_counter() - start
        before = measure(corpus, processor, training_args, "before")
        now = measure(corpus, processor, training_args, "now")
        variable_s = per_utterance_work(corpus, processor)
        rate = decoding_rate(now.pop("prepared"))
        lengths = np.asarray(before.pop("prepared")["train"]["length"][:])

    hours_measured = lengths.sum() / SAMPLING_RATE / 3600
    full = LIBRISPEECH_960H
    utterances_per_hour = full["utterances"] / full["hours"]
    # Before, everything grows with the audio (decoding, float32 rows). Now, header reads and token ids grow with the
    # utterances (LibriSpeech's 292.7 an hour), over the fixed cost of `datasets.map`; the first batch is one batch.
    before_prepare_per_hour = before["prepare_s"] / hours_measured
    now_prepare_per_hour = variable_s / len(lengths) * utterances_per_hour
    now_fixed_s = max(0.0, now["prepare_s"] - variable_s)
    codes_bytes_per_hour = FRAMES_PER_SECOND * 3600 * 2 + 4 * utterances_per_hour  # int16 ids + Arrow list offsets
    return {
        "corpus": {
            "hours": float(hours_measured),
            "utterances": len(lengths),
            "mean_seconds": float(lengths.mean() / SAMPLING_RATE),
            "min_seconds": float(lengths.min() / SAMPLING_RATE),
            "max_seconds": float(lengths.max() / SAMPLING_RATE),
            "reading_the_tree_s": load_s,
        },
        "before": {
            **before,
            "stored_bytes_per_hour": before["stored_bytes"] / hours_measured,
            "prepare_s_per_hour": before_prepare_per_hour,
            "stored_bytes_960h": before["stored_bytes"] / hours_measured * full["hours"],
            "to_first_batch_s_960h": before_prepare_per_hour * full["hours"] + before["first_batch_s"],
        },
        "now": {
            **now,
            "stored_bytes_per_hour": now["stored_bytes"] / len(lengths) * utterances_per_hour,
            "prepare_s_per_hour": now_prepare_per_hour,
            "fixed_s": now_fixed_s,
            "stored_bytes_960h": now["stored_bytes"] / len(lengths) * full["utterances"],
            "to_first_batch_s_960h": now_prepare_per_hour * full["hours"] + now_fixed_s + now["first_batch_s"],
        },
        "audio_codes": {
            "stored_bytes_per_hour": codes_bytes_per_hour,
            "stored_bytes_960h": codes_bytes_per_hour * full["hours"],
        },
        "decoding": {
            "audio_seconds_per_second": rate,
            # the README's per-device batch: 16 utterances of LibriSpeech's mean duration
            "seconds_per_batch_of_16": 16 * (3600 / utterances_per_hour) / rate,
        },
        "librispeech_960h": full,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=0.2, help="Hours of audio to generate (default 0.2).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="Also write the figures to this JSON file.")
    args = parser.parse_args(argv)
    result = data_path_section(args.hours, args.seed)
    print(data_path_markdown(result))
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
