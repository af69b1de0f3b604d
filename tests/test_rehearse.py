"""benchmarks/rehearse.py (`make rehearse`) end to end at tiny size: every stage of the paper's run as a user types it,
measured, and the projected cost; plus its arithmetic on known numbers."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from rehearsal_report import checkpoint_sizes, projection, step_times  # noqa: E402


STAGES = ["codebook", "pretrain", "tapt", "finetune", "finetune_mosei", "pipeline"]
TRAINING = ["pretrain", "tapt", "finetune", "finetune_mosei"]


@pytest.mark.script
def test_tiny_rehearsal_runs_every_stage_and_reports_its_figures(tmp_path):
    output = tmp_path / "rehearsal"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    command = [sys.executable, str(REPO / "benchmarks" / "rehearse.py"), "--size", "tiny", "--output_dir", str(output)]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    report = json.loads((output / "report.json").read_text())
    stages = {stage["name"]: stage for stage in report["stages"]}
    assert list(stages) == STAGES
    for name, stage in stages.items():
        assert stage["status"] == "ok", (name, stage.get("error"))
        assert stage["wall_s"] > 0 and stage["peak_rss_bytes"] > 100 * 2**20, (name, stage)
        assert stage["model_bytes"] > 0, name
    for name in TRAINING:
        stage = stages[name]
        assert stage["command"].startswith("python examples/run_"), stage["command"]
        assert stage["steps"] == 2 and len(stage["step_s"]) == 2, stage
        assert stage["first_step_s"] > 0 and stage["steady_step_s"] > 0
        assert stage["train_loop_s"] >= sum(stage["step_s"]) - 0.01
        # model + optimizer state (AdamW: two moments per weight) and the scheduler / RNG states
        assert stage["checkpoint_bytes"] > 2 * stage["model_bytes"] * 0.9, stage
    assert stages["codebook"]["command"].startswith("python examples/build_codebook.py")
    assert "--stage tapt" in stages["tapt"]["command"] and "--codebook_model" in stages["tapt"]["command"]
    assert "--fold 1" in stages["finetune"]["command"]
    assert stages["pipeline"]["per_batch_s"] > 0 and stages["pipeline"]["utterances"] > 0
    # resumable checkpoints are deleted once measured
    assert not list(output.glob("*/checkpoint-*"))

    flops, cost = report["flops"], report["projection"]
    assert flops["flops_per_utterance"] > 3 * flops["forward_flops"] * 0.9  # backward ~ twice the forward
    assert cost["total_flops"] == pytest.approx(100_000 * 256 * flops["flops_per_utterance"])
    assert cost["gpu_hours"] > 0 and cost["wall_days"] > 0

    markdown = (output / "report.md").read_text()
    for name in STAGES:
        assert f"| {name} | ok |" in markdown
    assert "Projected cost of the paper's pretraining run" in markdown
    assert "Report:" in result.stdout

    # --resume runs only the stages asked for and keeps what the first invocation measured
    resume = [*command, "--resume", "--stages", "pipeline", "--no_count_flops"]
    result = subprocess.run(resume, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    resumed = json.loads((output / "report.json").read_text())
    assert [stage["name"] for stage in resumed["stages"]] == STAGES
    assert [stage.get("from_previous_run", False) for stage in resumed["stages"]] == [True] * 5 + [False]
    assert resumed["flops"] == flops and len(resumed["invocations"]) == 2

    # --report_only projects the same run under other assumptions, running nothing
    rerender = [*command, "--report_only", "--peak_tflops", "989", "--mfu", "0.5"]
    result = subprocess.run(rerender, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    hours = json.loads((output / "report.json").read_text())["projection"]["gpu_hours"]
    assert hours == pytest.approx(cost["gpu_hours"] * (312 * 0.4) / (989 * 0.5))


def test_projection_arithmetic():
    args = SimpleNamespace(updates=100_000, global_batch_size=256, num_gpus=8, peak_tflops=312.0, mfu=0.4)
    cost = projection(1e12, args)
    assert cost["total_flops"] == pytest.approx(2.56e19)
    assert cost["gpu_hours"] == pytest.approx(2.56e19 / (312e12 * 0.4) / 3600)  # 56.98
    assert cost["wall_hours"] == pytest.approx(cost["gpu_hours"] / 8)
    assert cost["wall_days"] == pytest.approx(cost["gpu_hours"] / 8 / 24)
    assert cost["epochs_of_librispeech"] == pytest.approx(25_600_000 / 281_241)


def test_step_times_and_sizes_from_a_trainer_output(tmp_path):
    history = [
        {"loss": 9.0, "step": 1, "train_runtime": 5.0},
        {"loss": 8.0, "step": 2, "train_runtime": 7.0},
        {"loss": 7.5, "step": 3, "train_runtime": 9.5},
        {"eval_loss": 7.0, "step": 3},
        {"train_loss": 8.2, "train_runtime": 9.8, "step": 3},
    ]
    (tmp_path / "trainer_state.json").write_text(json.dumps({"log_history": history}))
    (tmp_path / "model.safetensors").write_bytes(bytes(1000))
    (tmp_path / "checkpoint-3").mkdir()
    (tmp_path / "checkpoint-3" / "optimizer.pt").write_bytes(bytes(2000))
    (tmp_path / "checkpoint-3" / "model.safetensors").write_bytes(bytes(1000))
    times = step_times(tmp_path)
    assert times["step_s"] == [5.0, 2.0, 2.5]
    assert times["first_step_s"] == 5.0 and times["steady_step_s"] == pytest.approx(2.25)
    assert times["train_loop_s"] == 9.8
    sizes = checkpoint_sizes(tmp_path)
    assert sizes["checkpoint_bytes"] == 3000
    assert sizes["model_bytes"] == 1000 + len((tmp_path / "trainer_state.json").read_bytes())
