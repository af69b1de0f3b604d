"""Traps of the real run that the tiny-size tests did not meet (found by the full-size rehearsal, `make rehearse`).

- LayerDrop under DistributedDataParallel: HuBERT-large as published drops layers (layerdrop 0.1), and with activation
  checkpointing Trainer turns DDP's `find_unused_parameters` off; the second step then failed. The scripts' Trainer
  turns it on for a model with LayerDrop.
- TAPT on IEMOCAP read the test session too, and labelled it with codewords (a backbone pass over its audio).
"""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from corpus_fixtures import make_iemocap_tree, make_librispeech_tree
from transformers import HubertModel, Wav2Vec2FeatureExtractor


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples"))

from cmt_arguments import PretrainingDataArguments  # noqa: E402
from cmt_data import load_pretraining_corpus  # noqa: E402
from cmt_training import find_unused_parameters_for_layerdrop  # noqa: E402


def model_with(audio_layerdrop: float):
    config = SimpleNamespace(text_config=SimpleNamespace(), audio_config=SimpleNamespace(layerdrop=audio_layerdrop))
    return SimpleNamespace(config=config)


@pytest.mark.parametrize(
    "layerdrop, given, expected",
    [(0.1, None, True), (0.0, None, None), (0.1, False, False), (0.1, True, True), (0.0, False, False)],
)
def test_find_unused_parameters_follows_layerdrop_unless_the_run_says(layerdrop, given, expected, caplog):
    args = SimpleNamespace(ddp_find_unused_parameters=given, world_size=2)
    find_unused_parameters_for_layerdrop(model_with(layerdrop), args)
    assert args.ddp_find_unused_parameters is expected
    if given is False and layerdrop:
        assert "--ddp_find_unused_parameters false with the audio backbone's layerdrop=0.1" in caplog.text


def test_ddp_with_layerdrop_and_activation_checkpointing_script(tmp_path, tiny_backbones):
    """Two processes, gradient checkpointing, an audio backbone that drops half its layers: every step trains."""
    from datasets import Dataset

    from processing_cmt.codebook import fit_codebook, save_codebook

    audio = tmp_path / "audio-layerdrop"
    backbone = HubertModel.from_pretrained(tiny_backbones["audio"])
    backbone.config.layerdrop = 0.5
    backbone.save_pretrained(audio)
    Wav2Vec2FeatureExtractor.from_pretrained(tiny_backbones["audio"]).save_pretrained(audio)
    sentences = ["I AM SO HAPPY TO SEE YOU TODAY", "THIS IS TERRIBLE I HATE IT", "WHAT A WASTE OF TWO HOURS"]
    tree = make_librispeech_tree(
        tmp_path, [(f"19-198-{i:04d}", "train-clean-100", sentences[i % 3], True, True) for i in range(16)]
    )
    corpus = Dataset.from_dict({"audio": [str(u.flac) for u in tree.utterances]})
    centroids, metadata = fit_codebook(corpus, str(audio), layer=1, num_codewords=8, show_progress=False)
    codebook = save_codebook(tmp_path / "codebook.safetensors", centroids, metadata)
    args = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(REPO / "examples" / "run_pretraining.py"),
        "--text_model", str(tiny_backbones["text"]),
        "--audio_model", str(audio),
        "--librispeech_root", str(tree.root),
        "--codebook", str(codebook),
        "--preset", "cmt-base",
        "--config_overrides", "cross_intermediate_size=64",
        "--output_dir", str(tmp_path / "run"),
        "--per_device_train_batch_size", "4",
        "--max_steps", "6",
        "--logging_steps", "1",
        "--gradient_checkpointing", "true",
        "--use_cpu",
        "--report_to", "none",
        "--dataloader_num_workers", "0",
        "--seed", "7",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
    env["OMP_NUM_THREADS"] = "1"
    result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert "Done: pretrain for 6 steps" in result.stdout
    assert "DDP with find_unused_parameters=True: the audio backbone's layerdrop=0.5 skips layers at random" in log


def test_tapt_on_iemocap_leaves_the_test_session_out(tmp_path):
    tree = make_iemocap_tree(tmp_path)
    corpus = load_pretraining_corpus(PretrainingDataArguments(iemocap_root=str(tree.root), fold=1), "tapt")
    assert set(corpus) == {"train", "validation"}
    sessions = {path.split("/Session")[1][0] for split in corpus.values() for path in split["audio"]}
    assert "1" not in sessions and sessions
    assert "label" not in corpus["train"].column_names


def _prepare_slowly(rank: int, port: int, wait_on: str, results) -> None:
    """One of two gloo processes whose default group times out after 2 s; the main process prepares for 5 s."""
    import datetime
    import time

    import torch.distributed as dist
    from cmt_data import main_process_first

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2, timeout=datetime.timedelta(seconds=2))
    args = SimpleNamespace(world_size=2, process_index=rank, local_process_index=rank)
    try:
        if wait_on == "own group":
            with main_process_first(args, "slow preparation"):
                if rank == 0:
                    time.sleep(5)
        else:  # what TrainingArguments.main_process_first does: the default group, bound by --ddp_timeout
            if rank != 0:
                dist.barrier()
            else:
                time.sleep(5)
                dist.barrier()
        results[rank] = "done"
    except RuntimeError as error:
        results[rank] = f"failed: {error}"
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("wait_on, finishes", [("own group", True), ("default group", False)])
def test_the_main_process_may_prepare_longer_than_ddp_timeout(wait_on, finishes):
    """Labelling 960 h before step 1 takes hours on the main process; the others must not give up after
    --ddp_timeout (30 min by default), which bounds the default group's collectives."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    results = mp.Manager().dict()
    mp.spawn(_prepare_slowly, args=(port, wait_on, results), nprocs=2, join=True)
    assert (dict(results) == {0: "done", 1: "done"}) is finishes, dict(results)
