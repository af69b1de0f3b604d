"""examples/run_finetuning.py end to end on tiny backbones and generated corpora (§3.4, §4.2.2, Tables 1, 2 and 4).

The corpora carry a learnable signal, honestly: each class (or sentiment score) has its own wording and its own tone
pitch, so a model can learn the label from the transcript and the audio, and nothing else. The IEMOCAP tree is laid
out as the release (5 sessions, both speakers, excluded labels); the MOSEI tree as MMSA's `label.csv` + `Raw/`.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from corpus_fixtures import IEMOCAPUtterance, MMSAClip, make_iemocap_tree, make_mmsa_tree, make_mosei_tree
from testing_utils import tone


REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "examples" / "run_finetuning.py"
sys.path.insert(0, str(REPO / "examples"))

import cmt_arguments  # noqa: E402
import cmt_data  # noqa: E402
import cmt_training  # noqa: E402
import run_finetuning  # noqa: E402


SAMPLING_RATE = 16000
# Per class: its transcripts and the pitch of its tone. Test utterances reuse the wording, never the exact audio.
EMOTION_TEXTS = {
    "ang": ["Stop shouting at me, I hate this!", "Leave me alone, I'm tired of this."],
    "hap": ["That's wonderful news, congratulations!", "I am so happy to see you today!"],
    "exc": ["She said yes! We're getting married!", "That's wonderful news, congratulations!"],
    "neu": ["The meeting was moved to noon.", "Let's get coffee and talk about it."],
    "sad": ["I'm really sorry for your loss.", "I lost my job this morning."],
    "fru": ["Nobody told me the meeting was moved.", "You never listen to me."],
}
EMOTION_PITCH = {"ang": 900.0, "hap": 600.0, "exc": 600.0, "neu": 300.0, "sad": 150.0, "fru": 450.0}
SENTIMENT_TEXTS = {
    -3: "What a waste of two hours, terrible.",
    -2: "The food was cold and the service was slow.",
    -1: "I guess it could have been worse.",
    0: "The movie was okay, nothing special.",
    1: "It was fine, I liked parts of it.",
    2: "Thank you so much for helping me move.",
    3: "Honestly, the acting was brilliant!",
}


def learnable_iemocap_utterances() -> list[IEMOCAPUtterance]:
    """Per session an improvised and a scripted dialog, each speaker with every class once and one `fru` (excluded);
    the scripted dialog's last pair varies by session, so that the sessions' class balance differs as in IEMOCAP."""
    utterances = []
    for session in range(1, 6):
        for dialog in (f"Ses{session:02d}F_impro01", f"Ses{session:02d}M_script01_1"):
            last = "fru" if "impro" in dialog else ("fru", "neu", "sad", "ang", "hap")[session - 1]
            turn = {"F": 0, "M": 0}
            labels = ("ang", "hap", "exc", "neu", "sad", last)
            for index, (gender, label) in enumerate((gender, label) for label in labels for gender in "FM"):
                start = 1.0 + 2.5 * index
                utterance = IEMOCAPUtterance(
                    id=f"{dialog}_{gender}{turn[gender]:03d}",
                    label=label,
                    text=EMOTION_TEXTS[label][(index + session) % 2],
                    start=round(start, 4),
                    end=round(start + 1.5, 4),
                    vad=(2.5, 2.5, 2.5),
                )
                turn[gender] += 1
                utterances.append(utterance)
    return utterances


def learnable_mmsa_clips() -> list[MMSAClip]:
    clips = []
    for index in range(56):
        score = index % 7 - 3
        mode = "test" if index % 4 == 3 else "valid" if index % 8 == 1 else "train"
        clips.append(MMSAClip(f"video{index // 7}", f"{index:04d}", SENTIMENT_TEXTS[score], f"{score}.0", mode, "wav"))
    return clips


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_backbones):
    root = tmp_path_factory.mktemp("finetuning")
    tree = make_iemocap_tree(root / "iemocap", learnable_iemocap_utterances())
    for seed, utterance in enumerate(tree.utterances):  # the class is in the pitch as well as in the words
        sf.write(str(utterance.wav), tone(EMOTION_PITCH[utterance.label], 0.1, seed), SAMPLING_RATE)
    clips = make_mmsa_tree(root / "mosei", learnable_mmsa_clips())
    for seed, clip in enumerate(clips):
        score = float(clip.label)
        sf.write(str(clip.path), tone(300.0 + 100.0 * score, 0.1, seed), SAMPLING_RATE)
    return {"root": root, "iemocap": tree.root, "iemocap_tree": tree, "mosei": root / "mosei", **tiny_backbones}


def common_args(setup, output_dir) -> list[str]:
    return [
        "--output_dir", str(output_dir),
        "--learning_rate", "1e-3",
        "--warmup_steps", "0",
        "--per_device_train_batch_size", "8",
        "--logging_steps", "1",
        "--report_to", "none",
        "--dataloader_num_workers", "0",
        "--dataloader_pin_memory", "false",
        "--seed", "0",
    ]  # fmt: skip


def backbone_args(setup) -> list[str]:
    return [
        "--text_model", str(setup["text"]),
        "--audio_model", str(setup["audio"]),
        "--config_overrides", "cross_intermediate_size=64,hidden_dropout_prob=0.0,attention_probs_dropout_prob=0.0",
    ]  # fmt: skip


def run_script(setup, *args, launcher=(sys.executable,)):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}",
        "OMP_NUM_THREADS": "1",
    }
    command = [*launcher, str(SCRIPT), *map(str, args)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=setup["root"], timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return result


def train_losses(output_dir) -> list[float]:
    state = json.loads((Path(output_dir) / "trainer_state.json").read_text())
    return [log["loss"] for log in state["log_history"] if "loss" in log]


def write_manifest(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def iemocap_manifest(setup, path: Path, label=lambda u: IEMOCAP_CLASS[u.label], drop_label=False) -> Path:
    """The kept IEMOCAP fixture utterances as any user's CSV: audio, text, emotion, split (session 1 = test)."""
    rows = []
    for u in setup["iemocap_tree"].kept():
        split = "test" if u.session == 1 else "valid" if u.speaker == "Ses02F" else "train"
        row = {"audio": str(u.wav), "text": u.text, "split": split}
        if not drop_label:
            row["emotion"] = label(u)
        rows.append(row)
    return write_manifest(path, rows)


IEMOCAP_CLASS = {"ang": "angry", "hap": "happy", "exc": "happy", "neu": "neutral", "sad": "sad"}


def in_process(*args) -> dict:
    return run_finetuning.main([*map(str, args), "--disable_tqdm", "true", "--log_level", "warning"])


def read_predictions(output_dir) -> list[dict]:
    with (Path(output_dir) / "test_predictions.csv").open() as file:
        return list(csv.DictReader(file))


def is_png(path: Path) -> bool:
    from matplotlib.image import imread

    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and imread(str(path)).shape[0] > 100


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # in-process runs share 2 cores with other work: torch's default 2 threads then spin against each other
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ser_run(setup):
    """CMT-Base from the two backbones on IEMOCAP fold 1, as a user runs the script. α = 1 rather than the paper's 10:
    on random tiny backbones the regulariser would dominate the few steps a test can afford."""
    output = setup["root"] / "ser"
    result = run_script(
        setup, "--task", "ser", "--iemocap_root", setup["iemocap"], "--fold", "1", "--preset", "cmt-base",
        "--ortho_loss_weight", "1", *backbone_args(setup), *common_args(setup, output), "--num_train_epochs", "8",
    )  # fmt: skip
    return output, result


@pytest.fixture(scope="module")
def sa_run(setup):
    """CMT-Base from the two backbones on the MMSA tree's standard split."""
    output = setup["root"] / "sa"
    results = in_process(
        "--task", "sa", "--mosei_mmsa_root", setup["mosei"], "--ortho_loss_weight", "1", *backbone_args(setup),
        *common_args(setup, output), "--num_train_epochs", "8",
    )  # fmt: skip
    return output, results


def test_ser_learns_and_is_evaluated_on_the_held_out_session(setup, ser_run):
    output, result = ser_run
    assert "Done: CMT Base (w/o PT, α=1), ser on IEMOCAP fold 1" in result.stdout
    assert "%|" in result.stderr  # progress bars of training and evaluation

    state = json.loads((output / "trainer_state.json").read_text())
    logs = [log for log in state["log_history"] if "loss" in log]
    assert all("task_loss" in log and "ortho_loss" in log for log in logs)  # both terms of Eq. (8) logged
    task_losses = [log["task_loss"] for log in logs]
    assert np.mean(task_losses[-9:]) < np.mean(task_losses[:9]) - 0.3, task_losses

    results = json.loads((output / "results.json").read_text())
    session1 = [u for u in setup["iemocap_tree"].kept() if u.session == 1]
    validation = [u for u in setup["iemocap_tree"].kept() if u.speaker == "Ses02F"]
    train = len(setup["iemocap_tree"].kept()) - len(session1) - len(validation)
    assert results["num_examples"] == {"train": train, "validation": len(validation), "test": len(session1)}
    assert results["label_names"] == ["angry", "happy", "neutral", "sad"]
    assert results["test"]["ua"] >= 0.5, results["test"]  # chance is 0.25
    assert np.sum(results["confusion_matrix"]) == len(session1)
    # the best checkpoint is the one with the highest UA on the validation speaker, and it is what was evaluated
    evaluations = [log["eval_ua"] for log in state["log_history"] if "eval_ua" in log]
    assert len(evaluations) == 8
    assert results["training"]["best_metric"] == "ua"
    assert results["training"]["best_metric_value"] == max(evaluations) == results["validation"]["ua"]

    # predictions line up with the test utterances, which are session 1's and no other
    predictions = read_predictions(output)
    assert [row["id"] for row in predictions] == [u.id for u in session1]
    assert [row["label"] for row in predictions] == [IEMOCAP_CLASS[u.label] for u in session1]
    accuracy = np.mean([row["label"] == row["prediction"] for row in predictions])
    assert accuracy == pytest.approx(results["test"]["wa"])


def test_ser_writes_model_processor_card_and_reports(setup, ser_run):
    output, _ = ser_run
    table = (output / "results.md").read_text()
    assert "| Method | Angry ↑ | Happy ↑ | Neutral ↑ | Sad ↑ | WA ↑ | UA ↑ |" in table
    results = json.loads((output / "results.json").read_text())
    assert f"| CMT Base (w/o PT, α=1) | {results['test']['binary_acc_angry']:.3f} |" in table
    assert is_png(output / "confusion_matrix.png")
    card = (output / "README.md").read_text()
    assert "model-index" in card and "Unweighted accuracy (UA)" in card and "IEMOCAP fold 1" in card
    # what made the model: two local backbones (no Hub model claimed), IEMOCAP by its id, no local path
    from huggingface_hub import ModelCard

    data = ModelCard(card).data
    assert data.base_model is None and data.datasets == ["iemocap"]
    assert "from a local roberta text backbone and a local hubert audio backbone" in card
    assert str(setup["root"]) not in card and "FacebookAI" not in card.split("---")[1]

    # the saved model + processor are the evaluated best checkpoint: they reproduce its test predictions
    from modeling_cmt import CMTForSequenceClassification
    from processing_cmt import CMTProcessor

    model = CMTForSequenceClassification.from_pretrained(output).eval()
    processor = CMTProcessor.from_pretrained(output)
    assert model.config.id2label == {0: "angry", 1: "happy", 2: "neutral", 3: "sad"}
    session1 = [u for u in setup["iemocap_tree"].kept() if u.session == 1][:4]
    inputs = processor(text=[u.text for u in session1], audio=[str(u.wav) for u in session1], return_tensors="pt")
    with torch.no_grad():
        probabilities = model(**inputs).logits.softmax(-1)
    expected = [[float(row[f"p_{name}"]) for name in results["label_names"]] for row in read_predictions(output)[:4]]
    np.testing.assert_allclose(probabilities.numpy(), expected, atol=2e-4)


def test_sa_learns_and_reports_like_table_2(setup, sa_run):
    output, results = sa_run
    state = json.loads((output / "trainer_state.json").read_text())
    task_losses = [log["task_loss"] for log in state["log_history"] if "task_loss" in log]
    assert np.mean(task_losses[-5:]) < np.mean(task_losses[:5]) - 0.5, task_losses

    clips = [clip for clip in learnable_mmsa_clips()]
    train_mean = np.mean([float(c.label) for c in clips if c.mode == "train"])
    test_scores = [float(c.label) for c in clips if c.mode == "test"]
    constant_mae = np.mean(np.abs(np.array(test_scores) - train_mean))
    assert results["num_examples"]["test"] == len(test_scores)
    assert results["test"]["mae"] < constant_mae - 0.3, (results["test"], constant_mae)
    maes = [log["eval_mae"] for log in state["log_history"] if "eval_mae" in log]
    assert results["training"]["best_metric"] == "mae"
    assert results["training"]["best_metric_value"] == min(maes) == results["validation"]["mae"]
    predictions = read_predictions(output)
    assert [float(row["score"]) for row in predictions] == test_scores

    assert "| Method | Acc7 ↑ | Acc2 ↑ | F1-score ↑ | MAE ↓ |" in (output / "results.md").read_text()
    assert is_png(output / "predictions_scatter.png")
    config = json.loads((output / "config.json").read_text())
    assert config["architectures"] == ["CMTForSequenceRegression"] and config["problem_type"] == "regression"
    assert "MAE" in (output / "README.md").read_text()
    assert (output / "processor_config.json").exists() and (output / "model.safetensors").exists()

    # the output folder is what pipeline("audio-text-sentiment") loads, with the scores of the evaluation
    from transformers import pipeline

    scorer = pipeline("audio-text-sentiment", model=str(output), device="cpu")
    clip = next(c for c in learnable_mmsa_clips() if c.mode == "test")
    audio = setup["mosei"] / "Raw" / clip.video_id / f"{clip.clip_id}.wav"
    assert scorer(str(audio), text=clip.text)["score"] == pytest.approx(float(predictions[0]["prediction"]), abs=1e-3)


@pytest.mark.parametrize(
    "baseline, data, method, modalities, absent",
    [
        ("text_only", "iemocap", "Text-only (roberta)", "text", "cmt.audio_model."),
        ("audio_only", "iemocap", "Audio-only (hubert)", "audio", "cmt.text_model."),
        ("shallow_fusion", "mosei", "Shallow-Fusion", "audio_text", "cmt.encoder."),
    ],
)
def test_baselines_run_through_the_same_script(setup, tmp_path, baseline, data, method, modalities, absent):
    from safetensors import safe_open

    source = ["--task", "ser", "--iemocap_root", setup["iemocap"], "--fold", "2"]
    if data == "mosei":
        source = ["--task", "sa", "--mosei_mmsa_root", setup["mosei"]]
    results = in_process(
        *source, "--baseline", baseline, *backbone_args(setup), *common_args(setup, tmp_path),
        "--num_train_epochs", "1",
    )  # fmt: skip
    assert results["method"] == method and results["baseline"] == baseline
    assert results["model"]["modalities"] == modalities
    assert results["model"]["num_cross_layers"] == 0 and results["model"]["ortho_loss_weight"] == 0
    assert f"| {method} |" in (tmp_path / "results.md").read_text()
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as weights:
        names = list(weights.keys())
    assert names and not any(name.startswith(absent) for name in names)
    if baseline == "shallow_fusion":  # the two pooled backbone outputs, concatenated, feed the head
        with safe_open(str(tmp_path / "model.safetensors"), "pt") as weights:
            assert weights.get_tensor("classifier.weight").shape == (1, 64)


def test_all_folds_aggregates_mean_and_std(setup, tmp_path):
    results = in_process(
        "--task", "ser", "--iemocap_root", setup["iemocap"], "--all_folds", *backbone_args(setup),
        *common_args(setup, tmp_path), "--num_train_epochs", "2", "--ortho_loss_weight", "0",
    )  # fmt: skip
    runs = []
    for fold in range(1, 6):
        run = json.loads((tmp_path / f"fold-{fold}" / "results.json").read_text())
        assert run["fold"] == fold
        assert {row["id"][:5] for row in read_predictions(tmp_path / f"fold-{fold}")} == {f"Ses{fold:02d}"}
        assert (tmp_path / f"fold-{fold}" / "model.safetensors").exists()
        runs.append(run)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["folds"] == [1, 2, 3, 4, 5]
    for metric in ("wa", "ua", "binary_acc_sad"):
        values = [run["test"][metric] for run in runs]
        assert saved["test"][metric]["n"] == 5
        assert saved["test"][metric]["mean"] == pytest.approx(np.mean(values))
        assert saved["test"][metric]["std"] == pytest.approx(np.std(values, ddof=1))
    assert len({run["test"]["ua"] for run in runs}) > 1  # five different models, five different test sessions
    # every kept utterance is tested exactly once over the five folds
    assert np.sum(saved["confusion_matrix"]) == len(setup["iemocap_tree"].kept())
    table = (tmp_path / "results.md").read_text()
    assert "±" in table and "## Per fold (test session)" in table and "| fold 5 |" in table
    assert is_png(tmp_path / "confusion_matrix.png")
    assert results["test"]["ua"]["mean"] == pytest.approx(saved["test"]["ua"]["mean"])


def test_finetunes_a_pretraining_checkpoint_on_a_csv_corpus(setup, tmp_path):
    from modeling_cmt import CMTForPreTraining
    from processing_cmt import CMTProcessor

    checkpoint = tmp_path / "pretrained"
    pretrained = CMTForPreTraining.from_text_audio_pretrained(
        str(setup["text"]), str(setup["audio"]), preset="cmt-base", cross_intermediate_size=64, num_codewords=8
    )
    pretrained.save_pretrained(checkpoint)
    CMTProcessor.from_text_audio_pretrained(str(setup["text"]), str(setup["audio"])).save_pretrained(checkpoint)

    # every cross-modal and backbone weight comes from the checkpoint; only the head is new
    model_args = cmt_arguments.FinetuningModelArguments(
        model_name_or_path=str(checkpoint), audio_layer_pooling="weighted"
    )
    for task, names in (("ser", ["calm", "upset"]), ("sa", None)):
        model, _ = cmt_training.build_finetuning_model(model_args, task, names)
        loaded = model.state_dict()
        expected = {k: v for k, v in pretrained.state_dict().items() if k.startswith("cmt.")}
        assert expected and all(torch.equal(loaded[k], v) for k, v in expected.items())
        new = sorted(set(loaded) - set(expected))
        assert new == ["classifier.bias", "classifier.weight", "cmt.audio_layer_weights"]
        assert model.config.ortho_loss_weight == 10.0  # the paper's α by default

    manifest = iemocap_manifest(
        setup, tmp_path / "corpus.csv", label=lambda u: "calm" if u.label in ("neu", "sad") else "upset"
    )
    output = tmp_path / "run"
    results = in_process(
        "--task", "ser", "--model_name_or_path", checkpoint, "--corpus", manifest, "--label_column", "emotion",
        "--class_names", "calm,upset", *common_args(setup, output), "--num_train_epochs", "1",
        "--dataset_name", "my-org/calm-upset",
    )  # fmt: skip
    # the card: a user's corpus by the name given, a local checkpoint of local backbones claims no Hub model
    from huggingface_hub import ModelCard

    card = ModelCard.load(output / "README.md")
    assert card.data.base_model is None and card.data.datasets == ["my-org/calm-upset"]
    assert card.data.eval_results[0].dataset_name == "my-org/calm-upset"
    assert card.data.eval_results[0].dataset_type == "custom"
    assert "from the CMT checkpoint pretrained, made from a local roberta text backbone" in card.text
    assert str(tmp_path) not in str(card)
    assert results["method"] == "CMT Base"
    assert results["label_names"] == ["calm", "upset"]
    kept = setup["iemocap_tree"].kept()
    test, validation = sum(u.session == 1 for u in kept), sum(u.speaker == "Ses02F" for u in kept)
    assert results["num_examples"] == {"train": len(kept) - test - validation, "validation": validation, "test": test}
    assert results["model"]["checkpoint"] == str(checkpoint)
    assert "| Method | Calm ↑ | Upset ↑ | WA ↑ | UA ↑ |" in (output / "results.md").read_text()


def test_only_transcript_and_audio_reach_the_model(setup, tmp_path):
    model_args, data_args, training_args = cmt_arguments.parse_finetuning_arguments(
        ["--task", "ser", "--iemocap_root", str(setup["iemocap"]), "--fold", "1", *backbone_args(setup),
         "--output_dir", str(tmp_path)]
    )  # fmt: skip
    data = cmt_data.load_task_data(data_args, 1)
    _, processor = cmt_training.build_finetuning_model(model_args, "ser", data.label_names, 1)
    features = cmt_data.prepare_features(data, processor, training_args, data_args)
    for split, dataset in features.items():
        # stored: token ids, lengths, labels and the audio's path; the waveform is decoded as examples are read
        assert sorted(dataset.column_names) == ["audio", "input_ids", "labels", "length"], split
        assert sorted(dataset[0]) == ["input_ids", "input_values", "labels", "length"], split
        raw = data.corpus[split]
        expected = processor(text=raw["text"][:3], audio=raw["audio"][:3], padding=False)
        for index in range(3):
            assert dataset[index]["input_ids"] == expected["input_ids"][index]
            np.testing.assert_array_equal(dataset[index]["input_values"], expected["input_values"][index])
        assert dataset["labels"] == raw["labels"]


@pytest.fixture(scope="module")
def bad_corpora(setup):
    root = setup["root"] / "bad"
    root.mkdir()
    outside = iemocap_manifest(
        setup,
        root / "outside.csv",
        label=lambda u: "bored" if u.id == "Ses01F_impro01_F002" else IEMOCAP_CLASS[u.label],
    )
    unlabelled = iemocap_manifest(setup, root / "unlabelled.csv", drop_label=True)
    binary = iemocap_manifest(
        setup, root / "binary.csv", label=lambda u: "calm" if u.label in ("neu", "sad") else "upset"
    )
    rows = [
        {"audio": str(u.wav), "text": u.text, "score": "7" if index == 3 else "1.5", "split": split}
        for index, (u, split) in enumerate(zip(setup["iemocap_tree"].kept(), ["train", "dev", "test"] * 100))
    ]
    scores = write_manifest(root / "scores.csv", rows)
    unsplit = write_manifest(root / "unsplit.csv", [{**row, "split": "holdout"} for row in rows])
    return {"outside": outside, "unlabelled": unlabelled, "binary": binary, "scores": scores, "unsplit": unsplit}


IEMOCAP_FOLD = ["--task", "ser", "--iemocap_root", "IEMOCAP"]
BAD_INPUTS = {
    "fold 6": ([*IEMOCAP_FOLD, "--fold", "6"], r"--fold must be one of \(1, 2, 3, 4, 5\) .*, got 6"),
    "fold 0": ([*IEMOCAP_FOLD, "--fold", "0"], r"--fold must be one of .*, got 0"),
    "fold and all folds": ([*IEMOCAP_FOLD, "--fold", "1", "--all_folds"], r"either --fold N .* or --all_folds"),
    "no fold": (IEMOCAP_FOLD, r"either --fold N .* or --all_folds"),
    "two corpora": ([*IEMOCAP_FOLD, "--fold", "1", "--corpus", "scores"], r"exactly one labelled corpus"),
    "MOSEI for SER": (["--task", "ser", "--mosei_mmsa_root", "MOSEI"], "use --task sa"),
    "IEMOCAP for SA": (["--task", "sa", "--iemocap_root", "IEMOCAP", "--fold", "1"], "use --task ser"),
    "label outside the set": (
        [
            "--task",
            "ser",
            "--corpus",
            "outside",
            "--label_column",
            "emotion",
            "--class_names",
            "angry,happy,neutral,sad",
        ],
        r"test\[4\] \(audio '.*Ses01F_impro01_F002.wav'\): label 'bored' is outside the label set \['angry'",
    ),
    "no label column": (["--task", "ser", "--corpus", "unlabelled"], r"Split 'train' has no label column 'label'"),
    "score outside [-3, 3]": (
        ["--task", "sa", "--corpus", "scores"],
        r"train\[1\] \(audio .*\): score '7' is not a number in \[-3, 3\]",
    ),
    "unknown split": (["--task", "sa", "--corpus", "unsplit"], r"row 0: split 'holdout' in column 'split'"),
    "SA from an SER checkpoint": (
        ["--task", "sa", "--corpus", "scores", "--model_name_or_path", "SER"],
        "is a classification checkpoint",
    ),
    "SER from an SA checkpoint": (
        [*IEMOCAP_FOLD, "--fold", "1", "--model_name_or_path", "SA"],
        "is a regression .* checkpoint",
    ),
    "SER checkpoint of other classes": (
        ["--task", "ser", "--corpus", "binary", "--label_column", "emotion", "--model_name_or_path", "SER"],
        r"classifies \['angry', 'happy', 'neutral', 'sad'\] but the data's classes are \['calm', 'upset'\]",
    ),
    "{fold} without folds": (
        ["--task", "sa", "--corpus", "scores", "--model_name_or_path", "runs/tapt-fold{fold}"],
        r"'\{fold\}'",
    ),
}


@pytest.mark.parametrize("arguments, message", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_refused_before_training(setup, bad_corpora, ser_run, sa_run, tmp_path, arguments, message):
    paths = {"IEMOCAP": setup["iemocap"], "MOSEI": setup["mosei"], "SER": ser_run[0], "SA": sa_run[0], **bad_corpora}
    arguments = [str(paths.get(argument, argument)) for argument in arguments]
    if "--model_name_or_path" not in arguments:
        arguments += backbone_args(setup)
    with pytest.raises(ValueError, match=message):
        in_process(*arguments, *common_args(setup, tmp_path / "out"))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_mosei_sdk_release_with_the_cmt_large_preset(setup, tmp_path):
    """Table 4's 'CMT-4 w/o PT' row (CMT-Large from the backbones, no regulariser) on the SDK layout of CMU-MOSEI."""
    tree = make_mosei_tree(tmp_path / "sdk")
    results = in_process(
        "--task", "sa", "--mosei_labels", tree.labels_path, "--mosei_audio_dir", tree.audio_dir,
        "--mosei_transcripts_dir", tree.transcripts_dir, "--mosei_folds", tree.folds_path,
        "--cache_dir", tmp_path / "cache", "--preset", "cmt-large", "--ortho_loss_weight", "0",
        *backbone_args(setup), *common_args(setup, tmp_path / "run"), "--num_train_epochs", "1",
    )  # fmt: skip
    assert results["method"] == "CMT Large (w/o PT, α=0)"
    assert results["model"]["num_cross_layers"] == 4 and results["model"]["num_cross_attention_heads"] == 8
    assert results["num_examples"] == {split: len(tree.kept(split)) for split in ("train", "validation", "test")}
    assert [float(row["score"]) for row in read_predictions(tmp_path / "run")] == pytest.approx(
        [label.sentiment for label in tree.kept("test")], abs=1e-4
    )


def test_distributed_finetuning_under_accelerate_launch(setup, tmp_path):
    # accelerate starts several CPU processes through its torchrun path (`--multi_gpu`) with the script's `--use_cpu`
    launcher = (sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no")  # fmt: skip
    output = tmp_path / "ddp"
    result = run_script(
        setup, "--task", "ser", "--iemocap_root", setup["iemocap"], "--fold", "1", *backbone_args(setup),
        *common_args(setup, output), "--num_train_epochs", "1", "--max_train_samples", "32", "--use_cpu",
        launcher=launcher,
    )  # fmt: skip
    assert "effective batch size 16 (8 per device x 1 accumulation x 2 processes)" in result.stdout + result.stderr
    results = json.loads((output / "results.json").read_text())
    assert results["training"]["steps"] == 2
    # evaluation gathers both processes' shares, each test utterance once and in order
    session1 = [u.id for u in setup["iemocap_tree"].kept() if u.session == 1]
    assert [row["id"] for row in read_predictions(output)] == session1
    assert np.sum(results["confusion_matrix"]) == len(session1)


@pytest.mark.parametrize("task, metric, greater_is_better", [("ser", "ua", True), ("sa", "mae", False)])
def test_paper_recipe_is_the_default_on_the_command_line_and_in_json(tmp_path, task, metric, greater_is_better):
    arguments = ["--task", task, "--corpus", "c.csv", "--text_model", "t", "--audio_model", "a"]
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"task": task, "corpus": "c.csv", "output_dir": str(tmp_path)}))
    for parsed in (cmt_arguments.parse_finetuning_arguments([*arguments, "--output_dir", str(tmp_path)]),
                   cmt_arguments.parse_finetuning_arguments([str(config)])):  # fmt: skip
        model_args, _, training_args = parsed
        assert training_args.learning_rate == 1e-5 and training_args.num_train_epochs == 25
        assert training_args.optim == "adamw_torch" and training_args.weight_decay == 0  # Adam
        assert training_args.per_device_train_batch_size * training_args.gradient_accumulation_steps == 16
        assert training_args.load_best_model_at_end and training_args.eval_strategy == "epoch"
        assert training_args.metric_for_best_model == metric and training_args.greater_is_better is greater_is_better
        assert cmt_training.model_overrides(model_args)["ortho_loss_weight"] == 10.0
    override = cmt_arguments.parse_finetuning_arguments(
        [*arguments, "--output_dir", "x", "--metric_for_best_model", "wa"]
    )
    assert override[2].metric_for_best_model == "wa"


TABLE_ROWS = {  # Tables 1, 2 and 4: flags -> (row name, CMTConfig fields); PT = from a CMT checkpoint
    "RoBERTa": (["--baseline", "text_only"], "Text-only (roberta)", {"modalities": "text", "num_cross_layers": 0}),
    "HuBERT": (["--baseline", "audio_only"], "Audio-only (hubert)", {"modalities": "audio", "ortho_loss_weight": 0}),
    "Shallow-Fusion": (["--baseline", "shallow_fusion"], "Shallow-Fusion", {"num_cross_layers": 0}),
    "CMT-4 w/o PT": (["--preset", "cmt-large", "--ortho_loss_weight", "0"], "CMT Large (w/o PT, α=0)", {}),
    "CMT-4 PT": (["PT", "--ortho_loss_weight", "0"], "CMT Large (α=0)", {"ortho_loss_weight": 0}),
    "CMT-4 PT + Layer pooler": (
        ["PT", "--ortho_loss_weight", "0", "--audio_layer_pooling", "weighted"],
        "CMT Large (layer pooler, α=0)",
        {"audio_layer_pooling": "weighted"},
    ),
    "CMT-4 PT, audio layer 3 (Figure 2)": (
        ["PT", "--audio_layer_pooling", "3"],
        "CMT Large (audio layer 3)",
        {"audio_layer_pooling": 3},
    ),
    "CMT-4 PT + Ortho": (["PT"], "CMT Large", {"ortho_loss_weight": 10.0, "audio_layer_pooling": "last"}),
}


@pytest.mark.parametrize("flags, name, fields", TABLE_ROWS.values(), ids=TABLE_ROWS.keys())
def test_every_table_row_is_one_set_of_flags(flags, name, fields):
    from testing_utils import CMTAudioModelTester, CMTTextModelTester

    from modeling_cmt import CMTConfig

    source = ["--model_name_or_path", "pt"] if "PT" in flags else ["--text_model", "t", "--audio_model", "a"]
    flags = [flag for flag in flags if flag != "PT"]
    model_args, _, _ = cmt_arguments.parse_finetuning_arguments(
        ["--task", "sa", "--corpus", "c.csv", "--output_dir", "x", *source, *flags]
    )
    backbones = {"text_config": CMTTextModelTester().get_config(), "audio_config": CMTAudioModelTester().get_config()}
    config = CMTConfig.from_preset("cmt-large", **backbones, **cmt_training.model_overrides(model_args))
    assert cmt_training.method_name(model_args, config) == name
    for key, value in fields.items():
        assert getattr(config, key) == value, key


def test_audio_layer_pooling_flag_is_checked():
    assert cmt_arguments.parse_layer_pooling("-1") == -1
    with pytest.raises(ValueError, match="--audio_layer_pooling must be 'last', 'weighted' or a layer index"):
        cmt_arguments.parse_layer_pooling("middle")


def test_user_corpora_as_three_csv_files_or_a_saved_dataset(setup, tmp_path):
    from datasets import ClassLabel, Dataset, DatasetDict

    kept = setup["iemocap_tree"].kept()
    splits = {"train": [u for u in kept if u.session > 2], "dev": [u for u in kept if u.session == 2],
              "test": [u for u in kept if u.session == 1]}  # fmt: skip
    files = {}
    for split, members in splits.items():
        rows = [{"path": str(u.wav), "sentence": u.text, "emotion": IEMOCAP_CLASS[u.label]} for u in members]
        files[split] = write_manifest(tmp_path / f"{split}.csv", rows)
    common = ["--output_dir", str(tmp_path), "--text_model", "t", "--audio_model", "a", "--label_column", "emotion"]
    _, data_args, _ = cmt_arguments.parse_finetuning_arguments(
        ["--task", "ser", "--train_file", str(files["train"]), "--validation_file", str(files["dev"]),
         "--test_file", str(files["test"]), "--audio_column", "path", "--text_column", "sentence", *common]
    )  # fmt: skip
    data = cmt_data.load_task_data(data_args, None)
    assert data.label_names == ["angry", "happy", "neutral", "sad"]
    assert {split: len(dataset) for split, dataset in data.corpus.items()} == {
        "train": len(splits["train"]), "validation": len(splits["dev"]), "test": len(splits["test"])
    }  # fmt: skip
    assert data.corpus["test"]["text"] == [u.text for u in splits["test"]]
    assert data.corpus["test"]["labels"] == [data.label_names.index(IEMOCAP_CLASS[u.label]) for u in splits["test"]]

    # a saved DatasetDict whose ClassLabel fixes the class order (here not alphabetical)
    names = ["sad", "neutral", "happy", "angry"]
    saved = DatasetDict({
        split: Dataset.from_dict(
            {"audio": [str(u.wav) for u in members], "text": [u.text for u in members],
             "emotion": [names.index(IEMOCAP_CLASS[u.label]) for u in members]}
        ).cast_column("emotion", ClassLabel(names=names))
        for split, members in splits.items()
    })  # fmt: skip
    saved.save_to_disk(str(tmp_path / "saved"))
    _, data_args, _ = cmt_arguments.parse_finetuning_arguments(
        ["--task", "ser", "--corpus", str(tmp_path / "saved"), *common]
    )
    data = cmt_data.load_task_data(data_args, None)
    assert data.label_names == names
    assert data.corpus["validation"]["labels"] == [names.index(IEMOCAP_CLASS[u.label]) for u in splits["dev"]]
    _, data_args, _ = cmt_arguments.parse_finetuning_arguments(
        ["--task", "sa", "--corpus", str(tmp_path / "saved"), *common]
    )
    with pytest.raises(ValueError, match=r"column 'emotion' holds class labels .* use --task ser"):
        cmt_data.load_task_data(data_args, None)


def test_resume_continues_the_run_exactly_and_the_frozen_feature_encoder_stays_put(setup, tmp_path):
    """`--resume_from_checkpoint` gives the losses of the uninterrupted run; `--freeze_feature_encoder` leaves the
    audio backbone's convolutional feature encoder as loaded while everything else trains."""
    from safetensors.torch import load_file
    from transformers import AutoModel

    def run(output, *extra):
        return run_script(
            setup, "--task", "ser", "--iemocap_root", setup["iemocap"], "--fold", "1", "--ortho_loss_weight", "1",
            "--freeze_feature_encoder", *backbone_args(setup), *common_args(setup, output), "--max_steps", "8",
            "--per_device_train_batch_size", "4", "--eval_strategy", "steps", "--eval_steps", "4",
            "--save_strategy", "steps", "--save_steps", "4", *extra,
        )  # fmt: skip

    full = tmp_path / "full"
    run(full)
    losses = train_losses(full)
    assert len(losses) == 8

    resumed = tmp_path / "resumed"
    (resumed / "checkpoint-4").parent.mkdir()
    shutil.copytree(full / "checkpoint-4", resumed / "checkpoint-4")
    run(resumed, "--resume_from_checkpoint", resumed / "checkpoint-4")
    assert train_losses(resumed)[4:] == pytest.approx(losses[4:], abs=1e-4)

    loaded = AutoModel.from_pretrained(setup["audio"]).state_dict()
    trained = load_file(str(full / "model.safetensors"))
    prefix = "cmt.audio_model."
    conv = [k for k in loaded if k.startswith("feature_extractor.")]
    assert conv and all(torch.equal(trained[prefix + k], loaded[k]) for k in conv)
    encoder = [k for k in loaded if k.startswith("encoder.layers.")]
    assert any(not torch.equal(trained[prefix + k], loaded[k]) for k in encoder)


def test_a_second_run_into_the_same_output_dir_is_refused_naming_what_is_there(setup, ser_run):
    output, _ = ser_run
    before = {path: path.stat().st_mtime_ns for path in output.rglob("*")}
    pattern = (
        r"holds a run already \(checkpoints: checkpoint-\d+.*; model files: config\.json, model\.safetensors; "
        r"training state: trainer_state\.json, training_args\.bin; results: .*results\.json.*; model card: README\.md\)"
        r".*--resume_from_checkpoint .*checkpoint-\d+.*--overwrite_output_dir"
    )
    with pytest.raises(ValueError, match=pattern):
        in_process(
            "--task", "ser", "--iemocap_root", setup["iemocap"], "--fold", "1", *backbone_args(setup),
            *common_args(setup, output),
        )  # fmt: skip
    assert {path: path.stat().st_mtime_ns for path in output.rglob("*")} == before


def _run_folder(root: Path, *names: str) -> Path:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not name.endswith("/"):
            path.write_text("earlier")
        else:
            path.mkdir(exist_ok=True)
    return root


def _output_args(output_dir, **fields):
    from types import SimpleNamespace

    defaults = {"resume_from_checkpoint": None, "overwrite_output_dir": False, "process_index": 0}
    return SimpleNamespace(output_dir=str(output_dir), **{**defaults, **fields})


def test_output_dir_rules_resume_overwrite_and_other_files(tmp_path):
    check = cmt_arguments.check_output_dir
    # nothing of a run: a missing folder, an empty one, one with other files
    check(_output_args(tmp_path / "new"))
    check(_output_args(_run_folder(tmp_path / "notes", "notes.txt", "data/train.csv")))
    # a run: refused, unless resumed from a checkpoint inside it or overwritten
    run = _run_folder(tmp_path / "run", "checkpoint-2/trainer_state.json", "checkpoint-10/trainer_state.json")
    with pytest.raises(ValueError, match=r"checkpoints: checkpoint-2, checkpoint-10\).*checkpoint-10, pass"):
        check(_output_args(run))
    check(_output_args(run, resume_from_checkpoint=str(run / "checkpoint-10")))
    elsewhere = _run_folder(tmp_path / "other", "checkpoint-4/trainer_state.json")
    with pytest.raises(ValueError, match="holds a run already"):  # resuming another run into this one replaces it
        check(_output_args(run, resume_from_checkpoint=str(elsewhere / "checkpoint-4")))
    check(_output_args(run, overwrite_output_dir=True))
    assert not any(run.iterdir())  # the old run's checkpoints are gone: rotation and resume cannot mix them in
    # --all_folds leaves one run per fold
    folds = _run_folder(tmp_path / "folds", "fold-1/results.json", "fold-2/config.json", "fold-3/notes.txt")
    with pytest.raises(ValueError, match=r"\(folds: fold-1, fold-2\)"):
        check(_output_args(folds))
    with pytest.raises(ValueError, match=r"--output_dir '.*a-file' is a file"):
        check(_output_args(_run_folder(tmp_path, "a-file") / "a-file"))


def test_overwrite_output_dir_is_a_flag_of_both_scripts(tmp_path):
    _, _, training_args = cmt_arguments.parse_finetuning_arguments(
        ["--task", "ser", "--output_dir", str(tmp_path), "--overwrite_output_dir"]
    )
    assert training_args.overwrite_output_dir is True
    _, _, training_args = cmt_arguments.parse_pretraining_arguments(["--output_dir", str(tmp_path)])
    assert training_args.overwrite_output_dir is False
