# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Builds the k-means codebook whose codeword ids are the targets of CMT's cross-modal audio MLM (§3.2.2).

HuBERT's recipe: k-means (K = 500) over the frame features of one layer of the audio backbone, fitted on a random
sample of the pretraining corpus; the centroids go to a safetensors file, and optionally the whole corpus is labelled
with an `audio_codes` column (one codeword id per backbone frame) for `DataCollatorForCMTPretraining`.

Example (LibriSpeech, HuBERT-large, layer 12 of 24):

    python examples/build_codebook.py \
        --audio_model facebook/hubert-large-ll60k --layer 12 --num_codewords 500 --sample_size 2000 \
        --librispeech_root /data/LibriSpeech --librispeech_subsets train-clean-100 train-clean-360 train-other-500 \
        --output_path codebooks/hubert-large-l12-k500.safetensors --label_output_dir data/librispeech-codes

The file records what made the codes: the audio model as given (`--audio_model`; a local folder also by its absolute
path) with a fingerprint of its weights, the layer, the audio normalisation, the sampling rate, the framing and K.
`run_pretraining.py` (pretraining and TAPT) labels its corpus with that model and refuses any other, so keep
`--audio_model` reachable (a Hub id, or a folder that stays where it is).

For a backbone that has learnt nothing yet (random weights, or pretraining from scratch), cluster MFCCs of its frames
instead, HuBERT's first iteration: `--layer mfcc` (39-d codewords: 13 MFCCs + deltas + delta-deltas).

Other corpora: `--dataset manifest.csv` (columns `audio`, `text`; relative paths are relative to the CSV) or
`--dataset <folder written by save_to_disk>` (an `audio` or precomputed `input_values` column).
"""

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


# Run from a checkout without installing: the packages live at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from datasets import Dataset, DatasetDict, load_from_disk  # noqa: E402
from transformers import AutoFeatureExtractor, HfArgumentParser, set_seed  # noqa: E402

from modeling_cmt import load_pretrained_backbone  # noqa: E402
from processing_cmt.codebook import MFCC_LAYER, fit_codebook, label_audio_codes, save_codebook  # noqa: E402
from processing_cmt.corpora import load_librispeech, load_speech_text_corpus  # noqa: E402


logger = logging.getLogger("build_codebook")


@dataclass
class CodebookArguments:
    audio_model: str = field(
        metadata={"help": "Audio backbone (HuBERT, wav2vec 2.0, WavLM...): Hub name or local path."}
    )
    output_path: str = field(metadata={"help": "Where to write the codebook (.safetensors)."})
    layer: str | None = field(
        default=None,
        metadata={
            "help": "Index into the backbone's hidden_states (0 = before the first layer); default: the middle. "
            "'mfcc': MFCCs of the backbone's frames instead (HuBERT's first iteration, for an untrained backbone)."
        },
    )
    num_codewords: int = field(default=500, metadata={"help": "K of k-means (HuBERT: 500)."})
    sample_size: int = field(default=1000, metadata={"help": "Utterances drawn at random to fit k-means on (0: all)."})
    max_frames_per_utterance: int | None = field(
        default=None, metadata={"help": "Keep at most this many random frames per sampled utterance (memory bound)."}
    )
    feature_extractor: str | None = field(
        default=None,
        metadata={
            "help": "Feature extractor or CMT processor folder/name preparing the audio as pretraining will; "
            "default: the audio model's own, else Wav2Vec2FeatureExtractor()."
        },
    )
    max_audio_seconds: float | None = field(
        default=None, metadata={"help": "Use only the first seconds of each utterance (as the processor's)."}
    )
    batch_size: int = field(default=8, metadata={"help": "Utterances per backbone forward pass."})
    kmeans_n_init: int = field(default=20, metadata={"help": "k-means++ initialisations (HuBERT: 20)."})
    kmeans_batch_size: int = field(default=10000, metadata={"help": "MiniBatchKMeans batch size (HuBERT: 10000)."})
    kmeans_max_iter: int = field(default=100, metadata={"help": "MiniBatchKMeans epochs (HuBERT: 100)."})
    label_output_dir: str | None = field(
        default=None, metadata={"help": "Also label the whole split with `audio_codes` and save_to_disk it here."}
    )
    device: str | None = field(default=None, metadata={"help": "Torch device; default cuda if available, else cpu."})
    seed: int = field(default=0, metadata={"help": "Seeds the sample, the frame subsample and k-means."})


@dataclass
class DataArguments:
    librispeech_root: str | None = field(default=None, metadata={"help": "A local LibriSpeech release folder."})
    librispeech_subsets: list[str] | None = field(
        default=None, metadata={"help": "LibriSpeech subsets to read (default: every train-* subset present)."}
    )
    dataset: str | None = field(
        default=None, metadata={"help": "A CSV manifest (audio, text columns) or a folder written by save_to_disk."}
    )
    split: str = field(default="train", metadata={"help": "Split to use."})
    audio_column: str = field(default="audio", metadata={"help": "Audio column of --dataset."})
    text_column: str = field(default="text", metadata={"help": "Transcript column of a CSV manifest."})


def load_corpus(data_args: DataArguments) -> Dataset:
    if (data_args.librispeech_root is None) == (data_args.dataset is None):
        raise ValueError("Give exactly one data source: --librispeech_root or --dataset.")
    if data_args.librispeech_root is not None:
        subsets = {data_args.split: data_args.librispeech_subsets} if data_args.librispeech_subsets else None
        corpus = load_librispeech(data_args.librispeech_root, subsets)
    elif Path(data_args.dataset).suffix.lower() == ".csv":
        corpus = load_speech_text_corpus(
            data_args.dataset, audio_column=data_args.audio_column, text_column=data_args.text_column
        )
    else:
        # Read as saved, so that a processed corpus with precomputed `input_values` works too.
        corpus = load_from_disk(data_args.dataset)
    if isinstance(corpus, DatasetDict):
        if data_args.split not in corpus:
            raise ValueError(f"No split {data_args.split!r} in the corpus; it has {list(corpus)}.")
        corpus = corpus[data_args.split]
    return corpus


def parse_layer(value: str | None, num_hidden_layers: int) -> int | str:
    """`--layer`: an index into hidden_states, `mfcc`, or (unset) the middle layer."""
    if value is None:
        return num_hidden_layers // 2
    if value == MFCC_LAYER:
        return value
    try:
        return int(value)
    except ValueError as error:
        raise ValueError(
            f"--layer must be an index into the backbone's hidden_states or {MFCC_LAYER!r}, got {value!r}."
        ) from error


def main(argv: list[str] | None = None):
    parser = HfArgumentParser((CodebookArguments, DataArguments))
    args, data_args = parser.parse_args_into_dataclasses(args=argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    set_seed(args.seed)
    start = time.perf_counter()

    # 1. Data
    corpus = load_corpus(data_args)
    logger.info("Corpus: %d utterances (split %r), columns %s", len(corpus), data_args.split, corpus.column_names)

    # 2. Backbone and audio preparation
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    audio_model = load_pretrained_backbone(args.audio_model).to(device).eval()
    layer = parse_layer(args.layer, audio_model.config.num_hidden_layers)
    feature_extractor = None
    if args.feature_extractor is not None:
        feature_extractor = AutoFeatureExtractor.from_pretrained(args.feature_extractor)
    elif Path(args.audio_model, "preprocessor_config.json").is_file() or not os.path.isdir(args.audio_model):
        feature_extractor = AutoFeatureExtractor.from_pretrained(args.audio_model)

    # 3. k-means on a sample
    logger.info(
        "***** Fitting the codebook *****  backbone %s, layer %s of %d, K=%d, sample %s utterances, device %s",
        args.audio_model,
        layer,
        audio_model.config.num_hidden_layers,
        args.num_codewords,
        args.sample_size or "all",
        device,
    )
    centroids, metadata = fit_codebook(
        corpus,
        audio_model,
        layer,
        num_codewords=args.num_codewords,
        sample_size=args.sample_size or None,
        batch_size=args.batch_size,
        feature_extractor=feature_extractor,
        audio_column=data_args.audio_column,
        max_audio_seconds=args.max_audio_seconds,
        max_frames_per_utterance=args.max_frames_per_utterance,
        seed=args.seed,
        kmeans_kwargs={
            "n_init": args.kmeans_n_init,
            "batch_size": args.kmeans_batch_size,
            "max_iter": args.kmeans_max_iter,
        },
    )
    path = save_codebook(args.output_path, centroids, metadata)

    # 4. Optionally, label the whole split
    if args.label_output_dir is not None:
        labelled = label_audio_codes(
            corpus,
            audio_model,
            (centroids, metadata),
            layer=layer,
            batch_size=args.batch_size,
            feature_extractor=feature_extractor,
            audio_column=data_args.audio_column,
            max_audio_seconds=args.max_audio_seconds,
        )
        labelled.save_to_disk(args.label_output_dir)

    labelled_note = f"; labelled {len(corpus)} utterances -> {args.label_output_dir}" if args.label_output_dir else ""
    print(
        f"Codebook: {centroids.shape[0]} codewords x {centroids.shape[1]} dims from layer {layer} of "
        f"{args.audio_model}, fitted on {metadata['num_frames']} frames of {metadata['num_utterances']} utterances "
        f"-> {path} (backbone fingerprint {metadata['backbone_fingerprint'][:12]}){labelled_note} "
        f"({time.perf_counter() - start:.1f} s)"
    )


if __name__ == "__main__":
    main()
