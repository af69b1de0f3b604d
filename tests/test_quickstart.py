"""The README's main-job command, `examples/quickstart.py`, end to end at a toy size: real eSpeak NG speech, tiny
backbones built locally, pretraining, three fine-tuning runs, the pipeline and the summary (issue 6, §3)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]


def test_quickstart_runs_offline_end_to_end(tmp_path):
    output = tmp_path / "quickstart"
    command = [
        sys.executable, str(REPO / "examples" / "quickstart.py"), "--output_dir", str(output),
        "--num_utterances", "32", "--pretrain_steps", "4", "--finetune_epochs", "1", "--num_codewords", "8",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    summary = (output / "summary.txt").read_text()
    for name in ("CMT", "text-only", "audio-only"):
        results = json.loads((output / f"finetuned-{name}" / "results.json").read_text())
        assert 0.0 <= results["test"]["wa"] <= 1.0
        assert f"{name:<12}{results['test']['wa']:>7.3f}" in summary  # the summary reports what the runs measured
    assert len(re.findall(r"^ +\w+ -> \w+ +\(\d\.\d\d\)", summary, re.MULTILINE)) == 6  # pipeline predictions
    # both pretraining objectives are logged and reported, the audio one against MFCC codewords (39-d)
    assert re.search(
        r"Pretraining losses, first -> last logged: text_mlm_loss [\d.]+ -> [\d.]+, audio_mlm_loss", summary
    )
    assert json.loads((output / "cmt-pretrained" / "config.json").read_text())["codeword_dim"] == 39
    assert (output / "finetuned-CMT" / "README.md").exists()  # model card next to the fine-tuned model
    wavs = sorted((output / "corpus" / "wav").glob("*.wav"))
    assert len(wavs) == 32
    import soundfile as sf

    audio, rate = sf.read(wavs[0])
    assert rate == 22050 and len(audio) > rate // 2 and abs(audio).max() > 0.05  # real speech, not silence
