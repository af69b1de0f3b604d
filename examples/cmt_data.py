# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The corpora of `run_pretraining.py` and `run_finetuning.py`, read and made ready for Trainer: unlabelled audio +
transcripts for pretraining and TAPT (frames labelled with codewords), labelled train / validation / test splits for
fine-tuning (labels checked against the label set), and the preprocessing both share."""

import contextlib
import io
import logging
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import numpy as np
import soundfile as sf
from cmt_arguments import FinetuningDataArguments, PreprocessingArguments, PretrainingDataArguments
from datasets import ClassLabel, Dataset, DatasetDict
from transformers import AutoModel

from processing_cmt import (
    iemocap_validation_speaker,
    label_audio_codes,
    load_iemocap,
    load_librispeech,
    load_mosei,
    load_mosei_mmsa,
    load_speech_text_corpus,
)
from processing_cmt.codebook_provenance import codebook_has_provenance, codebook_mismatches, load_codebook_backbone


logger = logging.getLogger(__name__)

SPLIT_ALIASES = {
    "train": "train",
    "validation": "validation",
    "valid": "validation",
    "dev": "validation",
    "test": "test",
}


@dataclass
class TaskData:
    """A labelled corpus ready for fine-tuning and what the reports say about it."""

    corpus: DatasetDict
    """train / validation / test with `audio`, `text`, `labels` (class ids or scores) and the source's columns."""
    label_names: list[str] | None
    description: str


def first_examples(dataset: Dataset, limit: int | None) -> Dataset:
    """The first `limit` examples (all of them for `None`): --max_train_samples, --max_eval_samples."""
    return dataset if limit is None else dataset.select(range(min(limit, len(dataset))))


def audio_num_samples(audio, sampling_rate: int, name: str) -> int:
    """The samples `load_audio(audio, sampling_rate)` returns, read from the file's header (or an array's shape)
    without decoding: the `length` of length grouping and of the audio limits. Resampling changes the count as
    librosa's resampler does (`ceil(frames * target / source)`).

    Raises:
        `ValueError`: naming the item, for audio whose length cannot be read or that is empty.
    """
    frames, rate = None, None
    try:
        if isinstance(audio, Mapping) and audio.get("array") is not None:  # `load_audio`'s order: array, bytes, path
            array = np.asarray(audio["array"])
            frames, rate = (max(array.shape) if array.ndim else 0), audio.get("sampling_rate")
        else:
            source = (audio.get("bytes") or audio.get("path")) if isinstance(audio, Mapping) else audio
            if isinstance(source, bytes):
                source = io.BytesIO(source)
            if isinstance(source, (str, os.PathLike, io.BytesIO)):
                info = sf.info(source if isinstance(source, io.BytesIO) else os.fspath(source))
                frames, rate = info.frames, info.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        raise ValueError(f"{name}: cannot read the length of audio {audio!r:.200} from its header: {error}") from error
    if frames is None or not rate:
        raise ValueError(
            f"{name}: cannot tell the length of audio {audio!r:.200}; expected a file path, `bytes`, or an `array` "
            "with its `sampling_rate`."
        )
    if frames == 0:
        raise ValueError(f"{name}: the audio is empty (0 samples).")
    return frames if rate == sampling_rate else int(np.ceil(frames * (float(sampling_rate) / rate)))


def preprocess_corpus(
    corpus: DatasetDict,
    processor,
    training_args,
    data_args: PreprocessingArguments,
    keep_columns: tuple[str, ...] = (),
) -> DatasetDict:
    """Tokenises the transcripts and reads every utterance's `length` (audio samples at the processor's rate) from
    its file header, without decoding; the `audio` column (paths) stays for [`AudioDecoding`], which decodes on the
    fly. So the prepared corpus holds token ids, lengths and paths, never waveforms (float32 of 960 h would be
    221 GB, in memory or in the datasets cache, before step 1).

    Utterances are never cut: a transcript always comes with all of its audio, in training, evaluation and the
    pipeline. `--max_audio_seconds` drops longer *training* utterances with their transcripts; validation and test
    splits stay whole. The log says, per split, how many utterances the rule dropped.

    Runs on the main process first so that the other processes read a cached result where there is one.
    """
    limit = data_args.max_audio_seconds
    if limit is not None and not limit > 0:
        raise ValueError(f"--max_audio_seconds must be a positive number of seconds, got {limit!r}.")
    rate = processor.sampling_rate

    def prepare(batch, indices, split):
        lengths = [audio_num_samples(a, rate, name=f"{split}[{i}]") for a, i in zip(batch["audio"], indices)]
        return {"input_ids": processor(text=batch["text"], padding=False)["input_ids"], "length": lengths}

    with main_process_first(training_args, "preprocessing the corpus"):
        processed = DatasetDict()
        for split, dataset in corpus.items():
            drop = [c for c in dataset.column_names if c not in ("audio", *keep_columns)]
            dataset = dataset.map(
                prepare,
                batched=True,
                with_indices=True,
                fn_kwargs={"split": split},
                remove_columns=drop,
                num_proc=data_args.preprocessing_num_workers,
                desc=f"Preparing {split} (transcripts, lengths from headers)",
            )
            processed[split] = _apply_length_rule(dataset, split, limit if split == "train" else None, rate)
    return processed


def _apply_length_rule(dataset: Dataset, split: str, limit: float | None, sampling_rate: int) -> Dataset:
    """Drops the utterances longer than `limit` seconds, transcript and audio together, and says so in the log."""
    lengths = np.asarray(dataset.with_format(None)["length"][:], dtype=np.int64)
    hours = lengths.sum() / sampling_rate / 3600
    if limit is None:
        longest = lengths.max(initial=0) / sampling_rate
        logger.info(f"{split}: {len(lengths):,} utterances ({hours:.3g} h, longest {longest:.1f} s), all kept whole.")
        return dataset
    keep = np.flatnonzero(lengths <= limit * sampling_rate)
    kept_hours = lengths[keep].sum() / sampling_rate / 3600
    dropped = len(lengths) - len(keep)
    message = (
        f"{split}: {dropped:,} of {len(lengths):,} utterances longer than {limit:g} s dropped with their transcripts "
        f"(--max_audio_seconds); {kept_hours:.3g} of {hours:.3g} h kept, none cut."
    )
    (logger.warning if dropped else logger.info)(message)
    if len(keep) == 0:
        raise ValueError(f"{message} Nothing is left to train on: raise --max_audio_seconds or leave it unset.")
    return dataset.select(keep) if dropped else dataset


class AudioDecoding:
    """
    The transform ([`~datasets.Dataset.with_transform`]) of a prepared split: when the DataLoader reads examples, it
    decodes, resamples and normalises their audio with the processor (exactly what the pipeline does), and hands the
    collators `input_ids` + `input_values`. Decoding happens in the DataLoader's workers
    (`--dataloader_num_workers`), for the examples of the batch only.

    Args:
        processor ([`CMTProcessor`]): the model's processor.
    """

    def __init__(self, processor):
        self.processor = processor

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        if "audio" not in batch:
            raise ValueError(
                f"The examples have no `audio` column to decode (columns {sorted(batch)}): keep "
                "--remove_unused_columns false, so that Trainer does not drop it before decoding."
            )
        features = {key: values for key, values in batch.items() if key != "audio"}
        features["input_values"] = self.processor(audio=list(batch["audio"]), padding=False)["input_values"]
        return features


def with_audio_decoding(corpus: DatasetDict, processor) -> DatasetDict:
    """Every split of a [`preprocess_corpus`] result with [`AudioDecoding`] as its transform. Set it last: `map`
    and `filter` see the transform's output, and label_audio_codes reads the `audio` column."""
    return DatasetDict({split: dataset.with_transform(AudioDecoding(processor)) for split, dataset in corpus.items()})


# Preparation in the main process may take hours at 960 h (one backbone pass over all the audio to label it).
PREPARATION_TIMEOUT = timedelta(hours=48)


@contextlib.contextmanager
def main_process_first(training_args, desc: str, timeout: timedelta = PREPARATION_TIMEOUT) -> Iterator[None]:
    """`TrainingArguments.main_process_first` (each node's main process prepares the data, the others then read its
    cache), with the others waiting up to `timeout` instead of `--ddp_timeout`: the training collectives' limit
    (30 min by default), which labelling LibriSpeech 960 h on one GPU exceeds. The wait is a barrier on a gloo group of
    its own, so it costs no GPU collective and leaves `--ddp_timeout` guarding the training steps."""
    import torch.distributed as dist

    if training_args.world_size <= 1 or not dist.is_available() or not dist.is_initialized():
        yield
        return
    group = dist.new_group(backend="gloo", timeout=timeout)
    is_main = training_args.local_process_index == 0
    try:
        if not is_main:
            logger.info("Process %d waits for the main process: %s", training_args.process_index, desc)
            dist.barrier(group=group)
        yield
    finally:
        if is_main:
            dist.barrier(group=group)
        dist.destroy_process_group(group)


# --- pretraining and TAPT --------------------------------------------------------------------------------------------


def load_pretraining_corpus(data_args: PretrainingDataArguments, stage: str) -> DatasetDict:
    """The unlabelled audio + transcript corpus: LibriSpeech or any corpus for pretraining, the task's data for TAPT
    (train split cut to --max_train_samples)."""
    corpus = _read_pretraining_corpus(data_args, stage)
    corpus["train"] = first_examples(corpus["train"], data_args.max_train_samples)
    return corpus


def _read_pretraining_corpus(data_args: PretrainingDataArguments, stage: str) -> DatasetDict:
    if stage == "tapt":
        if data_args.iemocap_root:
            if data_args.fold is None:
                raise ValueError("TAPT on IEMOCAP needs --fold (1-5): its test session must stay unseen.")
            corpus = load_iemocap(data_args.iemocap_root, fold=data_args.fold)
            # the test session is neither trained on nor labelled (labelling is a backbone pass over its audio)
            return DatasetDict({split: corpus[split].remove_columns("label") for split in ("train", "validation")})
        if data_args.mosei_mmsa_root:
            corpus = load_mosei_mmsa(data_args.mosei_mmsa_root)  # its test split stays unseen
            return DatasetDict({split: corpus[split].remove_columns("score") for split in ("train", "validation")})
    if data_args.librispeech_root:
        subsets = None
        if data_args.librispeech_subsets:
            subsets = {"train": data_args.librispeech_subsets}
        return load_librispeech(data_args.librispeech_root, subsets, normalize_text=data_args.normalize_text)
    if data_args.corpus:
        return load_speech_text_corpus(
            data_args.corpus,
            audio_column=data_args.audio_column,
            text_column=data_args.text_column,
            normalize_text=data_args.normalize_text,
        )
    raise ValueError(
        "No corpus: pass --librispeech_root or --corpus"
        + (", or --iemocap_root with --fold / --mosei_mmsa_root for TAPT." if stage == "tapt" else ".")
    )


def attach_codes(
    corpus: DatasetDict,
    model,
    model_args,
    codebook,
    max_audio_seconds: float | None,
    feature_extractor=None,
    device=None,
) -> DatasetDict:
    """Labels every frame with its codeword id, unless the corpus already has an `audio_codes` column.

    The labeller is the audio model the codebook was fitted on, so that TAPT's targets are the pretraining's: the one
    --codebook_model names, else this run's own audio backbone when it is that model (pretraining from the published
    backbone), else the model the codebook records, from its local path or Hub id (TAPT: the checkpoint's backbone
    was trained further). A labeller, layer or normalisation (`feature_extractor`, the processor's) other than the
    codebook's is refused, naming both, unless --allow_codebook_mismatch.

    The labeller runs on `device` (the run's accelerator: the model is still on the CPU before Trainer places it),
    then goes back where it was: on a CPU, labelling takes about 70 min per hour of HuBERT-large audio (the full-size
    rehearsal), which at LibriSpeech 960 h would be weeks before step 1.
    """
    if all("audio_codes" in split.column_names for split in corpus.values()):
        return corpus
    if codebook is None:
        raise ValueError("The corpus has no `audio_codes` column: pass --codebook (see examples/build_codebook.py).")
    if codebook[0].shape != model.codebook.shape:
        raise ValueError(
            f"Codebook {model_args.codebook} has shape {tuple(codebook[0].shape)} but the model expects "
            f"(num_codewords, codeword_dim) = {tuple(model.codebook.shape)}."
        )
    metadata, allow = codebook[1], model_args.allow_codebook_mismatch
    source = f"Codebook {model_args.codebook!r}"
    own_backbone = model.cmt.audio_model
    own_name = f"this run's audio backbone (from {model_args.model_name_or_path or model_args.audio_model!r})"
    if model_args.codebook_model:
        labeller, labeller_name = AutoModel.from_pretrained(model_args.codebook_model), repr(model_args.codebook_model)
    elif not codebook_has_provenance(metadata):
        raise ValueError(
            f"{source} records no fingerprint of the audio model it was fitted on (it predates provenance records), "
            f"so its labeller cannot be checked: pass --codebook_model with that model ({metadata.get('backbone')!r} "
            "by its metadata), or rebuild the codebook with examples/build_codebook.py."
        )
    elif not codebook_mismatches(metadata, own_backbone):
        labeller, labeller_name = own_backbone, own_name
    else:
        try:
            labeller = load_codebook_backbone(metadata, source)
            labeller_name = f"{metadata['backbone']!r}, the model the codebook records"
        except ValueError as error:
            differences = "; ".join(codebook_mismatches(metadata, own_backbone))
            if not allow:
                raise ValueError(
                    f"{error} Nor can {own_name} stand in for it: {differences}. Pass --codebook_model with where "
                    "that model is, or --allow_codebook_mismatch to label with this run's backbone (its targets "
                    "are not the pretraining's)."
                ) from error
            logging.getLogger(__name__).warning(
                "%s Labelling with %s instead (--allow_codebook_mismatch): %s.", error, own_name, differences
            )
            labeller, labeller_name = own_backbone, own_name
    logging.getLogger(__name__).info(
        "Labelling frames with %s: layer %s of %s", source, metadata.get("layer"), labeller_name
    )
    home = next(labeller.parameters()).device
    labeller.to(device or home)
    try:
        for split in list(corpus):
            corpus[split] = label_audio_codes(
                corpus[split],
                labeller,
                codebook,
                feature_extractor=feature_extractor,
                max_audio_seconds=max_audio_seconds,
                allow_codebook_mismatch=allow,
            )
    finally:
        labeller.to(home)
    return corpus


# --- fine-tuning -----------------------------------------------------------------------------------------------------


def load_task_data(data_args: FinetuningDataArguments, fold: int | None) -> TaskData:
    """The labelled train / validation / test splits of the task, with `labels` checked against the label set."""
    task, label_column = data_args.task, data_args.label_column
    if data_args.iemocap_root:
        corpus = load_iemocap(data_args.iemocap_root, fold=fold)
        label_column = label_column or "label"
        description = (
            f"IEMOCAP fold {fold}: test session {fold}, validation speaker {iemocap_validation_speaker(fold)}"
        )
    elif data_args.mosei_mmsa_root:
        corpus = load_mosei_mmsa(data_args.mosei_mmsa_root)
        label_column = label_column or "score"
        description = "CMU-MOSEI (MMSA layout), standard train / valid / test split"
    elif data_args.mosei_labels:
        corpus = load_mosei(
            data_args.mosei_labels,
            data_args.mosei_audio_dir,
            data_args.mosei_transcripts_dir,
            folds=data_args.mosei_folds,
            cache_dir=data_args.cache_dir,
        )
        label_column = label_column or "score"
        description = "CMU-MOSEI (SDK release), standard train / valid / test folds"
    else:
        corpus = load_labelled_corpus(data_args)
        label_column = label_column or ("label" if task == "ser" else "score")
        description = f"{data_args.corpus or Path(data_args.train_file).parent} (column {label_column!r})"
    missing = [split for split in ("train", "validation", "test") if split not in corpus]
    if missing:
        raise ValueError(f"The corpus has no {missing} split(s) (it has {list(corpus)}); fine-tuning needs all three.")
    corpus = DatasetDict({split: corpus[split] for split in ("train", "validation", "test")})
    for split, dataset in corpus.items():
        if label_column not in dataset.column_names:
            raise ValueError(
                f"Split {split!r} has no label column {label_column!r}; its columns are {dataset.column_names}. Pass "
                "--label_column to name yours."
            )
        if len(dataset) == 0:
            raise ValueError(f"Split {split!r} is empty.")
    if task == "ser":
        names = [name.strip() for name in data_args.class_names.split(",")] if data_args.class_names else None
        corpus, names = encode_class_labels(corpus, label_column, names)
    else:
        corpus, names = encode_scores(corpus, label_column), None
    corpus["train"] = first_examples(corpus["train"], data_args.max_train_samples)
    for split in ("validation", "test"):
        corpus[split] = first_examples(corpus[split], data_args.max_eval_samples)
    return TaskData(corpus, names, description)


def prepare_features(data: TaskData, processor, training_args, data_args: FinetuningDataArguments) -> DatasetDict:
    """Everything the model sees: `input_ids` (the transcript), `input_values` (the audio, decoded as examples are
    read), and `labels` for the loss; plus `length` for the sampler. Every other column (ids, speakers, emotion
    codes, ...) is dropped here."""
    features = preprocess_corpus(data.corpus, processor, training_args, data_args, keep_columns=("labels",))
    return with_audio_decoding(features, processor)


def load_labelled_corpus(data_args: FinetuningDataArguments) -> DatasetDict:
    """--corpus (a saved DatasetDict, or a CSV with a split column) or the three CSV files, split names unified."""
    read = partial(
        load_speech_text_corpus,
        audio_column=data_args.audio_column,
        text_column=data_args.text_column,
        normalize_text=data_args.normalize_text,
    )
    if data_args.train_file:
        files = {"train": data_args.train_file, "validation": data_args.validation_file, "test": data_args.test_file}
        return DatasetDict({split: read(path)["train"] for split, path in files.items()})
    corpus = read(data_args.corpus)
    renamed = DatasetDict()
    for split, dataset in corpus.items():
        name = SPLIT_ALIASES.get(split, split)
        if name in renamed:
            raise ValueError(f"{data_args.corpus!r} has two {name!r} splits: {sorted(corpus)}; keep one.")
        renamed[name] = dataset
    if set(renamed) != {"train"}:
        return renamed
    dataset, column = renamed["train"], data_args.split_column
    if column not in dataset.column_names:
        raise ValueError(
            f"{data_args.corpus!r} has a single split and no split column {column!r} (columns "
            f"{dataset.column_names}): add a column with train / validation / test per row, name it with "
            "--split_column, or pass --train_file, --validation_file and --test_file."
        )
    values = [str(value).strip().lower() for value in dataset[column]]
    unknown = [(index, value) for index, value in enumerate(values) if value not in SPLIT_ALIASES]
    if unknown:
        index, value = unknown[0]
        raise ValueError(
            f"{data_args.corpus!r} row {index}: split {value!r} in column {column!r} is not one of "
            f"{sorted(SPLIT_ALIASES)} ({len(unknown)} such rows)."
        )
    splits = {}
    for split in ("train", "validation", "test"):
        indices = [index for index, value in enumerate(values) if SPLIT_ALIASES[value] == split]
        splits[split] = dataset.select(indices).remove_columns(column)
    return DatasetDict(splits)


def _row_name(dataset, split: str, index: int) -> str:
    """`test[4] (id 'Ses01F_impro01_F002')`, or with the audio path when the rows have no id."""
    row = dataset.select_columns([c for c in ("id", "audio") if c in dataset.column_names])[index]
    if "id" in row:
        return f"{split}[{index}] (id {row['id']!r})"
    audio = row.get("audio")
    return f"{split}[{index}]" + (f" (audio {audio!r})" if isinstance(audio, str) else "")


def encode_class_labels(
    corpus: DatasetDict, column: str, label_names: list[str] | None
) -> tuple[DatasetDict, list[str]]:
    """Replaces `column` with integer `labels` in id order of `label_names`; any label outside the set is an error.

    A `ClassLabel` column brings its names; class names as text map through `label_names` (default: the sorted names
    of the training split); integer ids must lie in 0..len(label_names) - 1.
    """
    feature = corpus["train"].features[column]
    train_values = corpus["train"][column]
    if isinstance(feature, ClassLabel):
        if label_names is not None and label_names != feature.names:
            raise ValueError(
                f"--class_names {label_names} differ from the dataset's classes {feature.names} (column {column!r})."
            )
        label_names, by_name = list(feature.names), False
        for split, dataset in corpus.items():
            if dataset.features[column] != feature:  # ids of another class order would be read as these classes
                raise ValueError(
                    f"Split {split!r} labels {column!r} with {dataset.features[column]}, split 'train' with {feature}."
                )
    elif all(isinstance(value, str) for value in train_values):
        label_names, by_name = label_names or sorted({value.strip() for value in train_values}), True
    elif all(isinstance(value, int) and not isinstance(value, bool) for value in train_values):
        label_names, by_name = label_names or [str(i) for i in range(max(train_values) + 1)], False
    else:
        kinds = sorted({type(value).__name__ for value in train_values})
        raise ValueError(
            f"Label column {column!r} holds {kinds}; SER needs class names or integer class ids (scores: --task sa)."
        )
    if len(set(label_names)) != len(label_names) or len(label_names) < 2:
        raise ValueError(f"SER needs at least two distinct class names, got {label_names}.")
    id_of = {name: index for index, name in enumerate(label_names)}

    def class_id(value) -> int | None:
        if by_name:
            return id_of.get(value.strip()) if isinstance(value, str) else None
        is_id = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(label_names)
        return value if is_id else None

    encoded = DatasetDict()
    for split, dataset in corpus.items():
        ids = []
        for index, value in enumerate(dataset[column]):
            label = class_id(value)
            if label is None:
                raise ValueError(
                    f"{_row_name(dataset, split, index)}: label {value!r} is outside the label set {label_names}."
                )
            ids.append(label)
        dataset = dataset.remove_columns(column)
        encoded[split] = dataset.add_column("labels", ids, feature=ClassLabel(names=label_names))
    return encoded, label_names


def encode_scores(corpus: DatasetDict, column: str) -> DatasetDict:
    """Replaces `column` with float `labels`; every score must be a finite number in [-3, 3] (the MOSEI scale)."""
    encoded = DatasetDict()
    for split, dataset in corpus.items():
        if isinstance(dataset.features[column], ClassLabel):
            raise ValueError(
                f"Split {split!r}: column {column!r} holds class labels {dataset.features[column].names}, not "
                "sentiment scores: use --task ser."
            )
        scores = []
        for index, value in enumerate(dataset[column]):
            try:
                score = float(value) if not isinstance(value, bool) else math.nan
            except (TypeError, ValueError):
                score = math.nan
            if not (math.isfinite(score) and -3.0 <= score <= 3.0):
                raise ValueError(
                    f"{_row_name(dataset, split, index)}: score {value!r} is not a number in [-3, 3] (sentiment "
                    f"regression, column {column!r}); is this a classification dataset (--task ser)?"
                )
            scores.append(score)
        encoded[split] = dataset.remove_columns(column).add_column("labels", scores)
    return encoded
