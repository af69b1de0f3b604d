# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The offline quickstart: the whole CMT recipe end to end on a machine with no Hub access, in minutes on 2 CPU cores.

1. Synthesizes a small emotional speech corpus with eSpeak NG (real speech; emotion in the wording of some utterances
   and in the prosody of others, independently, so that a model must fuse both modalities to do well).
2. Builds tiny RoBERTa / HuBERT backbones locally (a tokenizer trained on the corpus with `tokenizers`).
3. Fits a k-means codebook (the codeword targets of §3.2.2) on MFCCs of the audio backbone's frames (the tiny random
   backbone: HuBERT's first iteration) or on a middle layer's frames (a pretrained backbone).
4. Cross-modal pretraining (`run_pretraining.py`) for a few hundred steps.
5. Fine-tunes the text-only and audio-only baselines from the backbones (beside the pretraining) and CMT from the
   pretrained checkpoint (`run_finetuning.py`), and evaluates all three on held-out utterances.
6. Runs `pipeline("audio-text-sentiment")` on held-out clips and prints a one-screen summary.

    python examples/quickstart.py --output_dir runs/quickstart

With Hub access the same command runs the real thing on the paper's backbones:

    python examples/quickstart.py --text_model FacebookAI/roberta-large --audio_model facebook/hubert-large-ll60k
"""

import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from datasets import Dataset
from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    HfArgumentParser,
    HubertConfig,
    HubertModel,
    RobertaConfig,
    RobertaModel,
)


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # a source checkout, uninstalled

from synthetic_speech import EMOTIONS, EspeakSynthesizer, sample_emotional_utterances  # noqa: E402

from processing_cmt import fit_codebook, save_codebook, train_roberta_tokenizer  # noqa: E402


# How the model cards name the synthesized corpus (never by its path).
QUICKSTART_DATASET = "cmt-quickstart-synthetic-speech"


@dataclass
class QuickstartArguments:
    output_dir: str = field(default="runs/quickstart", metadata={"help": "Where everything is written."})
    text_model: str | None = field(default=None, metadata={"help": "A real text backbone (needs the Hub or a path)."})
    audio_model: str | None = field(default=None, metadata={"help": "A real audio backbone."})
    num_utterances: int = field(default=400, metadata={"help": "Size of the synthesized corpus (70/15/15 split)."})
    pretrain_steps: int = field(default=300, metadata={"help": "Cross-modal pretraining updates."})
    finetune_epochs: float = field(default=15.0, metadata={"help": "Fine-tuning epochs of each model."})
    learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Learning rate of both stages. Default: 1e-3 for the tiny backbones; with real ones the "
            "paper's 5e-5 (pretraining) and 1e-5 (fine-tuning)."
        },
    )
    ortho_loss_weight: float | None = field(
        default=None,
        metadata={
            "help": "α of Eq. (8) for CMT. Default: the paper's 10 with real backbones; 1 with the tiny random ones, "
            "where 10 swamps the task loss within a few hundred steps."
        },
    )
    num_codewords: int | None = field(
        default=None, metadata={"help": "k-means codebook size. Default: 32 for the tiny backbones, HuBERT's 500."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of the corpus and of every run."})


def step(number: int, title: str) -> None:
    print(f"\n=== {number}. {title}", flush=True)


def synthesize_corpus(args: QuickstartArguments, corpus_dir: Path) -> dict[str, Path]:
    """Writes `corpus_dir/wav/*.wav` and `{train,validation,test}.csv` (audio, text, label + how each was made)."""
    synthesizer = EspeakSynthesizer()
    utterances = sample_emotional_utterances(args.num_utterances, seed=args.seed)
    (corpus_dir / "wav").mkdir(parents=True, exist_ok=True)
    num_train, num_validation = int(0.7 * len(utterances)), int(0.15 * len(utterances))
    splits = {
        "train": utterances[:num_train],
        "validation": utterances[num_train : num_train + num_validation],
        "test": utterances[num_train + num_validation :],
    }
    manifests = {}
    for split, members in splits.items():
        rows = []
        for index, utterance in enumerate(members):
            path = corpus_dir / "wav" / f"{split}_{index:04d}.wav"
            sf.write(str(path), synthesizer.synthesize(utterance.text, **utterance.prosody), synthesizer.sampling_rate)
            rows.append(
                {
                    "id": path.stem,
                    "audio": str(path),
                    "text": utterance.text,
                    "label": utterance.label,
                    "text_is_emotional": int(utterance.text_is_emotional),
                    "prosody_is_emotional": int(utterance.prosody_is_emotional),
                }
            )
        manifests[split] = corpus_dir / f"{split}.csv"
        with open(manifests[split], "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return manifests


def build_tiny_backbones(manifests: dict[str, Path], backbone_dir: Path, seed: int) -> tuple[str, str]:
    """A tokenizer trained on the transcripts + a small RoBERTa, and a small layer-norm HuBERT + feature extractor."""
    from transformers import Wav2Vec2FeatureExtractor

    torch.manual_seed(seed)
    texts = []
    for manifest in manifests.values():
        with open(manifest) as file:
            texts += [row["text"] for row in csv.DictReader(file)]
    tokenizer = train_roberta_tokenizer(texts, vocab_size=600, model_max_length=64)
    text_config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        max_position_embeddings=66,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    text_dir, audio_dir = backbone_dir / "text", backbone_dir / "audio"
    RobertaModel(text_config, add_pooling_layer=False).save_pretrained(text_dir)
    tokenizer.save_pretrained(text_dir)
    audio_config = HubertConfig(
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=128,
        conv_dim=[32] * 7,  # HuBERT's stride (20 ms frames at 16 kHz), narrow channels
        conv_bias=True,
        num_conv_pos_embeddings=32,
        num_conv_pos_embedding_groups=4,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
        layerdrop=0.0,
        mask_time_prob=0.0,
    )
    HubertModel(audio_config).save_pretrained(audio_dir)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    ).save_pretrained(audio_dir)
    return str(text_dir), str(audio_dir)


def start_example(script: str, *arguments, log: Path) -> subprocess.Popen:
    """Starts one of the example scripts as a user would, its output going to `log`. The tiny models run fastest on
    one thread per process (two processes share the two cores of a small machine), unless OMP_NUM_THREADS is set."""
    command = [sys.executable, str(REPO / "examples" / script), *map(str, arguments)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.setdefault("OMP_NUM_THREADS", "1")
    return subprocess.Popen(command, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait(process: subprocess.Popen, log: Path) -> None:
    if process.wait() != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"{' '.join(map(str, process.args[1:3]))} failed; the end of {log}:\n{tail}")
    print(log.read_text().strip().splitlines()[-1], flush=True)  # the script's own summary line


def main():
    (args,) = HfArgumentParser(QuickstartArguments).parse_args_into_dataclasses()
    output = Path(args.output_dir).resolve()
    output.mkdir(parents=True, exist_ok=True)
    start = time.time()

    step(1, f"Synthesizing {args.num_utterances} emotional utterances with eSpeak NG")
    manifests = synthesize_corpus(args, output / "corpus")
    print(f"corpus in {output / 'corpus'}: " + ", ".join(f"{k} {v.name}" for k, v in manifests.items()))

    step(2, "Backbones")
    tiny = not (args.text_model and args.audio_model)
    if tiny:
        text_model, audio_model = build_tiny_backbones(manifests, output / "backbones", args.seed)
    else:
        text_model, audio_model = args.text_model, args.audio_model
    # the tiny random backbones learn at a high rate with a light regulariser; real ones take the paper's recipe
    pretrain_lr = args.learning_rate or (1e-3 if tiny else 5e-5)
    finetune_lr = args.learning_rate or (1e-3 if tiny else 1e-5)
    alpha = args.ortho_loss_weight if args.ortho_loss_weight is not None else (1.0 if tiny else 10.0)
    args.num_codewords = args.num_codewords or (32 if tiny else 500)
    overrides = ["--config_overrides", "cross_intermediate_size=128"] if tiny else []
    print(f"text: {text_model}\naudio: {audio_model}")

    # A random backbone's layers carry nothing to cluster: MFCCs of its frames, as HuBERT's first iteration. A
    # pretrained one: frames of a middle layer, as HuBERT's later iterations (and the paper, with HuBERT's codewords).
    layer = "mfcc" if tiny else max(1, AutoConfig.from_pretrained(audio_model).num_hidden_layers // 2)
    features = "MFCCs of the audio backbone's frames" if tiny else f"layer {layer} of the audio backbone"
    step(3, f"k-means codebook of {args.num_codewords} codewords on {features}")
    with open(manifests["train"]) as file:
        train_audio = [row["audio"] for row in csv.DictReader(file)]
    centroids, metadata = fit_codebook(
        Dataset.from_dict({"audio": train_audio}),
        audio_model,
        layer=layer,
        num_codewords=args.num_codewords,
        feature_extractor=AutoFeatureExtractor.from_pretrained(audio_model),
        seed=args.seed,
        show_progress=False,
    )
    codebook = save_codebook(output / "codebook.safetensors", centroids, metadata)

    step(4, f"Cross-modal pretraining ({args.pretrain_steps} steps), the text-only and audio-only baselines beside it")
    logs = output / "logs"
    logs.mkdir(exist_ok=True)
    pretrained = output / "cmt-pretrained"
    pretraining = start_example(
        "run_pretraining.py",
        "--text_model", text_model, "--audio_model", audio_model, "--preset", "cmt-base",
        *overrides,
        "--corpus", manifests["train"], "--dataset_name", QUICKSTART_DATASET, "--codebook", codebook,
        # the quickstart owns its folder: a second run replaces the first one's models and results
        "--output_dir", pretrained, "--overwrite_output_dir",
        "--max_steps", args.pretrain_steps, "--per_device_train_batch_size", 8,
        "--learning_rate", pretrain_lr, "--warmup_steps", 20, "--logging_steps", max(1, min(50, args.pretrain_steps // 4)), "--save_strategy", "no",
        "--report_to", "none", "--seed", args.seed, "--disable_tqdm", "true",
        log=logs / "pretraining.log",
    )  # fmt: skip
    backbones = ["--text_model", text_model, "--audio_model", audio_model]
    runs = {
        "text-only": [*backbones, "--baseline", "text_only"],
        "audio-only": [*backbones, "--baseline", "audio_only"],
        "CMT": ["--model_name_or_path", pretrained, "--ortho_loss_weight", alpha],
    }

    def finetune(name: str) -> subprocess.Popen:
        return start_example(
            "run_finetuning.py",
            "--task", "ser", *runs[name],
            "--train_file", manifests["train"], "--validation_file", manifests["validation"],
            "--test_file", manifests["test"], "--label_column", "label", "--class_names", ",".join(EMOTIONS),
            "--dataset_name", QUICKSTART_DATASET,
            "--output_dir", output / f"finetuned-{name}", "--overwrite_output_dir",
            "--num_train_epochs", args.finetune_epochs,
            "--learning_rate", finetune_lr, "--per_device_train_batch_size", 16, "--warmup_steps", 10,
            "--logging_steps", 20, "--report_to", "none", "--seed", args.seed, "--disable_tqdm", "true",
            log=logs / f"finetuning-{name}.log",
        )  # fmt: skip

    for name in ("text-only", "audio-only"):
        process = finetune(name)
        wait(process, logs / f"finetuning-{name}.log")
    wait(pretraining, logs / "pretraining.log")

    step(5, "Fine-tuning CMT from the pretrained checkpoint")
    wait(finetune("CMT"), logs / "finetuning-CMT.log")
    results = {
        name: (output / f"finetuned-{name}", json.loads((output / f"finetuned-{name}" / "results.json").read_text()))
        for name in ("CMT", "text-only", "audio-only")
    }

    step(6, "pipeline('audio-text-sentiment') on held-out clips")
    predictions = pipeline_predictions(results["CMT"][0], manifests["test"], num_clips=6)

    summarize(output, manifests["test"], results, predictions, pretraining_losses(pretrained), time.time() - start)


def pipeline_predictions(model_dir: Path, test_manifest: Path, num_clips: int) -> list[tuple[dict, dict]]:
    """The fine-tuned CMT behind the pipeline, on the first held-out clips."""
    from transformers import pipeline

    import modeling_cmt  # noqa: F401  (registers the pipeline task)

    with open(test_manifest) as file:
        rows = list(csv.DictReader(file))[:num_clips]
    classify = pipeline("audio-text-sentiment", model=str(model_dir), device="cpu")
    outputs = classify([row["audio"] for row in rows], text=[row["text"] for row in rows], batch_size=len(rows))
    return list(zip(rows, outputs))


def accuracy_by_cue(run_dir: Path, test_manifest: Path) -> dict[str, float]:
    """Test accuracy split by which modality carried the emotion: where fusion should show."""
    with open(test_manifest) as file:
        cues = {row["id"]: row for row in csv.DictReader(file)}
    with open(run_dir / "test_predictions.csv") as file:
        predictions = list(csv.DictReader(file))
    groups: dict[str, list[bool]] = {"text cue only": [], "audio cue only": [], "both": [], "neither": []}
    for row in predictions:
        cue = cues[row["id"]]
        text, audio = cue["text_is_emotional"] == "1", cue["prosody_is_emotional"] == "1"
        key = "both" if text and audio else "text cue only" if text else "audio cue only" if audio else "neither"
        groups[key].append(row["label"] == row["prediction"])
    return {key: float(np.mean(hits)) if hits else float("nan") for key, hits in groups.items()}


def pretraining_losses(pretrained: Path) -> dict[str, tuple[float, float]]:
    """(first, last) logged value of each pretraining loss: L_w (text MLM) and L_a (audio codeword prediction)."""
    state = json.loads((pretrained / "trainer_state.json").read_text())
    logs = [log for log in state["log_history"] if "text_mlm_loss" in log]
    return {key: (logs[0][key], logs[-1][key]) for key in ("text_mlm_loss", "audio_mlm_loss")} if logs else {}


def summarize(
    output: Path, test_manifest: Path, results: dict, predictions: list, pretraining: dict, seconds: float
) -> None:
    lines = ["", "=" * 100, f"Offline quickstart done in {seconds / 60:.1f} min; everything is in {output}", ""]
    if pretraining:
        lines += [
            "Pretraining losses, first -> last logged: "
            + ", ".join(f"{key} {first:.3f} -> {last:.3f}" for key, (first, last) in pretraining.items()),
            "",
        ]
    header = f"{'model':<12}{'WA':>7}{'UA':>7}{'macro-F1':>10}   test accuracy where the emotion is in: text / audio / both / neither"
    lines += [header, "-" * len(header)]
    for name, (run_dir, result) in results.items():
        test = result["test"]
        by_cue = accuracy_by_cue(run_dir, test_manifest)
        cue_text = " / ".join(f"{value:.2f}" for value in by_cue.values())
        lines.append(f"{name:<12}{test['wa']:>7.3f}{test['ua']:>7.3f}{test['macro_f1']:>10.3f}   {cue_text}")
    lines += ["", "Pipeline on held-out clips (fine-tuned CMT):"]
    for row, output_row in predictions:
        best = output_row[0]
        lines.append(f'  {row["label"]:>8} -> {best["label"]:<8} ({best["score"]:.2f})  "{row["text"]}"')
    lines += [
        "",
        f"Reports: {output}/finetuned-*/results.md; logs: {output}/logs; model + processor + card: "
        f"{output}/finetuned-CMT",
    ]
    text = "\n".join(lines)
    print(text)
    (output / "summary.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
