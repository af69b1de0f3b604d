"""examples/run_pretraining.py end to end on tiny backbones and a generated LibriSpeech tree, run as a user runs it:
`python examples/run_pretraining.py ...` and `accelerate launch --num_processes 2 --cpu ...` (§3.2.2, §4.2.1)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from corpus_fixtures import make_librispeech_tree

from processing_cmt.codebook import fit_codebook, save_codebook


REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "run_pretraining.py"
SENTENCES = [
    "I AM SO HAPPY TO SEE YOU TODAY",
    "THIS IS TERRIBLE I HATE IT",
    "WHY WOULD YOU DO SOMETHING LIKE THAT",
    "THE MOVIE WAS OKAY NOTHING SPECIAL",
    "WHAT A WASTE OF TWO HOURS",
    "MY FLIGHT GOT CANCELLED AGAIN",
    "IT WAS A BEAUTIFUL WEDDING",
    "THANK YOU SO MUCH FOR HELPING ME MOVE",
]


@pytest.fixture(scope="module")
def pretraining_setup(tmp_path_factory, tiny_backbones):
    root = tmp_path_factory.mktemp("pretraining")
    utterances = [(f"19-198-{i:04d}", "train-clean-100", SENTENCES[i % len(SENTENCES)], True, True) for i in range(16)]
    tree = make_librispeech_tree(root, utterances)
    from datasets import Dataset

    corpus = Dataset.from_dict({"audio": [str(u.flac) for u in tree.utterances]})
    centroids, metadata = fit_codebook(corpus, tiny_backbones["audio"], layer=1, num_codewords=8, show_progress=False)
    codebook = save_codebook(root / "codebook.safetensors", centroids, metadata)
    return {"root": root, "librispeech": tree.root, "codebook": codebook, **tiny_backbones}


def run_script(setup, output_dir, *extra, launcher=(sys.executable,)):
    args = [
        *launcher,
        str(SCRIPT),
        "--text_model", str(setup["text"]),
        "--audio_model", str(setup["audio"]),
        "--librispeech_root", str(setup["librispeech"]),
        "--codebook", str(setup["codebook"]),
        "--preset", "cmt-base",
        "--config_overrides", "cross_intermediate_size=64",
        "--output_dir", str(output_dir),
        "--per_device_train_batch_size", "4",
        "--learning_rate", "3e-3",
        "--warmup_steps", "0",
        "--logging_steps", "1",
        "--report_to", "none",
        "--dataloader_num_workers", "0",
        "--seed", "7",
        *extra,
    ]  # fmt: skip
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}",
        "OMP_NUM_THREADS": "1",
    }
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=setup["root"], timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return result


def train_losses(output_dir) -> dict[int, dict]:
    state = json.loads((Path(output_dir) / "trainer_state.json").read_text())
    return {log["step"]: log for log in state["log_history"] if "loss" in log}


def test_pretraining_learns_logs_both_losses_and_resumes_exactly(pretraining_setup):
    """With batches of at most 1 s of padded audio (utterances of 0.2-0.35 s: 2 to 4 per batch), resumed from a
    checkpoint in the middle of the third epoch."""
    output = pretraining_setup["root"] / "run"
    budget = ("--max_batch_audio_seconds", "1.0")
    result = run_script(pretraining_setup, output, "--max_steps", "30", "--save_steps", "15", *budget)
    assert "Done: pretrain for 30 steps" in result.stdout
    assert "Training batches: 6 length-grouped batches of 2-4 utterances" in result.stdout + result.stderr
    logs = train_losses(output)
    assert sorted(logs) == list(range(1, 31))
    for log in logs.values():  # L_tot = L_a + L_w, both logged
        assert log["audio_mlm_loss"] > 0 and log["text_mlm_loss"] > 0
    first = sum(logs[s]["loss"] for s in range(1, 6)) / 5
    last = sum(logs[s]["loss"] for s in range(26, 31)) / 5
    assert last < first - 0.5, (first, last)
    assert (output / "model.safetensors").exists() and (output / "processor_config.json").exists()

    # resuming from the step-15 checkpoint gives the same loss curve as the uninterrupted run
    resumed = pretraining_setup["root"] / "resumed"
    shutil.copytree(output / "checkpoint-15", resumed / "checkpoint-15")
    run_script(
        pretraining_setup, resumed, "--max_steps", "30", "--save_steps", "15",
        "--resume_from_checkpoint", str(resumed / "checkpoint-15"), *budget,
    )  # fmt: skip
    resumed_logs = train_losses(resumed)
    for step in range(16, 31):
        assert resumed_logs[step]["loss"] == pytest.approx(logs[step]["loss"], abs=1e-4), step


def test_distributed_pretraining_under_accelerate_launch_then_tapt(pretraining_setup):
    output = pretraining_setup["root"] / "ddp"
    # accelerate 1.x starts several CPU processes through its torchrun path (`--multi_gpu`) with the script's
    # `--use_cpu`; its `--cpu` flag with `--num_processes 2` starts a single process.
    launcher = (sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no")  # fmt: skip
    # utterances last 0.2-0.35 s: the rule drops the four of 0.35 s whole, and the batches of at most 1 s of padded
    # audio (3 or 4 utterances) are handed out to the two processes evenly
    result = run_script(
        pretraining_setup, output, "--max_steps", "2", "--use_cpu", "--max_audio_seconds", "0.3",
        "--max_batch_audio_seconds", "1.0", launcher=launcher,
    )  # fmt: skip
    assert "Done: pretrain for 2 steps" in result.stdout
    log = result.stdout + result.stderr
    assert "train: 4 of 16 utterances longer than 0.3 s dropped with their transcripts" in log
    assert "Training batches: 4 length-grouped batches of 2-4 utterances" in log
    assert "effective batch size 8 (4 per device x 1 accumulation x 2 processes)" in result.stdout + result.stderr

    # TAPT continues the checkpoint on the downstream task's corpus, here any corpus given as a CSV manifest
    manifest = pretraining_setup["root"] / "task.csv"
    flacs = sorted(Path(pretraining_setup["librispeech"]).rglob("*.flac"))[:6]
    manifest.write_text("audio,text\n" + "".join(f"{p},I can't believe it happened again\n" for p in flacs))
    tapt = pretraining_setup["root"] / "tapt"
    result = run_script(
        pretraining_setup, tapt, "--stage", "tapt", "--model_name_or_path", str(output), "--corpus", str(manifest),
        "--librispeech_root", "", "--max_steps", "2", "--dataset_name", "my-task-corpus",
    )  # fmt: skip
    assert "Done: tapt for 2 steps" in result.stdout

    # each checkpoint's card says what made it: local backbones claim no Hub model, the data by its id or given name,
    # TAPT's the pretraining's too (read from the pretraining checkpoint's card); no local path
    from huggingface_hub import ModelCard

    pretrained_card, tapt_card = ModelCard.load(output / "README.md"), ModelCard.load(tapt / "README.md")
    assert pretrained_card.data.base_model is None and tapt_card.data.base_model is None
    assert pretrained_card.data.datasets == ["openslr/librispeech_asr"]
    assert tapt_card.data.datasets == ["openslr/librispeech_asr", "my-task-corpus"]
    assert "on LibriSpeech for 2 steps, from a local roberta text backbone and a local hubert audio backbone" in (
        pretrained_card.text
    )
    assert "The starting checkpoint was trained on openslr/librispeech_asr." in tapt_card.text
    for card in (pretrained_card, tapt_card):
        assert str(pretraining_setup["root"]) not in str(card) and "FacebookAI" not in str(card.data)


def test_tapt_without_checkpoint_is_refused(pretraining_setup):
    args = [sys.executable, str(SCRIPT), "--stage", "tapt", "--output_dir", str(pretraining_setup["root"] / "x"),
            "--corpus", "whatever.csv"]  # fmt: skip
    result = subprocess.run(args, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode != 0 and "--model_name_or_path" in result.stderr


def test_documented_accelerate_configs_load():
    """docs/accelerate/*.yaml are read by accelerate's own config loader (what `accelerate launch --config_file` does)."""
    from accelerate.commands.config.config_args import load_config_from_file

    configs = {
        path.name: load_config_from_file(str(path)) for path in sorted((REPO / "docs" / "accelerate").glob("*.yaml"))
    }
    assert {name: config.distributed_type.value for name, config in configs.items()} == {
        "deepspeed_zero2.yaml": "DEEPSPEED",
        "fsdp.yaml": "FSDP",
        "multi_gpu_bf16.yaml": "MULTI_GPU",
    }
    assert all(config.mixed_precision == "bf16" for config in configs.values())


def test_tapt_labels_with_the_codebook_model_not_the_updated_backbone(pretraining_setup, tmp_path):
    """Issue 11 §4: without --codebook_model, TAPT's targets come from the model the codebook records (here the
    published tiny backbone's folder), not from the checkpoint's audio backbone that pretraining updated; naming
    another model is refused unless --allow_codebook_mismatch."""
    import torch

    from modeling_cmt import CMTForPreTraining
    from processing_cmt import CMTProcessor, load_codebook

    centroids, _ = load_codebook(pretraining_setup["codebook"])
    text, audio = pretraining_setup["text"], pretraining_setup["audio"]
    model = CMTForPreTraining.from_text_audio_pretrained(
        text, audio, preset="cmt-base", cross_intermediate_size=64, num_codewords=centroids.shape[0],
        codeword_dim=centroids.shape[1],
    )  # fmt: skip
    model.set_codebook(centroids)
    with torch.no_grad():  # what pretraining does to the audio backbone
        for parameter in model.cmt.audio_model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    checkpoint = tmp_path / "pretrained"
    model.save_pretrained(checkpoint)
    CMTProcessor.from_text_audio_pretrained(text, audio).save_pretrained(checkpoint)
    model.cmt.audio_model.save_pretrained(tmp_path / "updated-audio")
    manifest = tmp_path / "task.csv"
    flacs = sorted(Path(pretraining_setup["librispeech"]).rglob("*.flac"))[:4]
    manifest.write_text("audio,text\n" + "".join(f"{p},I can't believe it happened again\n" for p in flacs))
    tapt = ["--stage", "tapt", "--model_name_or_path", str(checkpoint), "--corpus", str(manifest),
            "--librispeech_root", "", "--audio_model", "", "--max_steps", "1"]  # fmt: skip

    result = run_script(pretraining_setup, tmp_path / "tapt", *tapt)
    assert f"Loaded '{audio}', the audio model Codebook '{pretraining_setup['codebook']}' was fitted on" in (
        result.stdout + result.stderr
    )
    assert "Done: tapt for 1 steps" in result.stdout

    with pytest.raises(AssertionError) as refused:
        run_script(pretraining_setup, tmp_path / "refused", *tapt, "--codebook_model", str(tmp_path / "updated-audio"))
    assert f"was fitted on layer 1 of '{audio}', but the labeller '{tmp_path / 'updated-audio'}'" in str(refused.value)
    assert "its weights (fingerprint" in str(refused.value)


def test_an_output_dir_that_holds_a_run_is_refused_before_anything_runs(pretraining_setup, tmp_path):
    """A second run into the folder of a first one would replace its model and checkpoints (transformers 5 has no
    `overwrite_output_dir`): the script stops before loading anything, naming what is there, and touches nothing."""
    output = tmp_path / "earlier-run"
    (output / "checkpoint-15").mkdir(parents=True)
    (output / "checkpoint-15" / "trainer_state.json").write_text("{}")
    for name in ("config.json", "model.safetensors", "train_results.json"):
        (output / name).write_text(f"the earlier run's {name}")
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file()}
    with pytest.raises(AssertionError) as refused:
        run_script(pretraining_setup, output, "--max_steps", "2")
    message = " ".join(str(refused.value).split())
    assert (
        "holds a run already (checkpoints: checkpoint-15; model files: config.json, model.safetensors; results: "
        "train_results.json)" in message
    )
    assert f"--resume_from_checkpoint {output / 'checkpoint-15'}" in message and "--overwrite_output_dir" in message
    assert {path: path.read_bytes() for path in output.rglob("*") if path.is_file()} == before
