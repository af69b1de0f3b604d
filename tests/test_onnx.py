# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""ONNX export and ONNX Runtime inference (`modeling_cmt.onnx`) on a tiny CMT built locally.

One export per head, through the command a user types (in process, as `main(argv)`); everything else reads the
exported folder. Expected logits come from the PyTorch model on the same batches.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from testing_utils import TINY_CORPUS, synthetic_waveform, tiny_cmt_config
from transformers import RobertaConfig, pipeline


onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from modeling_cmt import CMTForPreTraining, CMTForSequenceClassification, CMTForSequenceRegression  # noqa: E402
from modeling_cmt.onnx import (  # noqa: E402
    ONNX_QUANTIZED_WEIGHTS_NAME,
    ONNX_WEIGHTS_NAME,
    CMTOnnxModel,
    example_inputs,
    export_onnx,
    main,
)


ROOT = Path(__file__).resolve().parents[1]
TASK = "audio-text-sentiment"
LABELS = ["angry", "happy", "neutral", "sad"]
ATOL = 1e-4  # fp32 parity, the bound


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_tokenizer, tiny_processor):
    """A tiny classifier saved with its processor, then `python -m modeling_cmt.onnx export ... --quantize`."""
    torch.manual_seed(0)
    config = tiny_cmt_config(
        tiny_tokenizer, id2label=dict(enumerate(LABELS)), label2id={k: i for i, k in enumerate(LABELS)}
    )
    model = CMTForSequenceClassification(config).eval()
    directory = tmp_path_factory.mktemp("onnx")
    model.save_pretrained(directory / "model")
    tiny_processor.save_pretrained(directory / "model")
    result = main(["export", "--model", str(directory / "model"), "--output", str(directory / "onnx"), "--quantize"])
    return model, directory / "onnx", result


@pytest.fixture(scope="module")
def ort_model(exported):
    return CMTOnnxModel.from_pretrained(exported[1])


def batch_of(processor, lengths, seed=0):
    """A processor batch (padded as the processor pads) of utterances of `lengths` (seconds, transcript index)."""
    texts = [TINY_CORPUS[(seed + index) % len(TINY_CORPUS)] for index in lengths[1]]
    audio = [{"array": synthetic_waveform(s, seed=seed + i), "sampling_rate": 16000} for i, s in enumerate(lengths[0])]
    return dict(processor(text=texts, audio=audio, return_tensors="pt"))


def eager(model, batch):
    with torch.no_grad():
        return model(**batch).logits


def test_cli_writes_the_export(exported):
    _, folder, result = exported
    names = {path.name for path in folder.iterdir()}
    assert {ONNX_WEIGHTS_NAME, ONNX_QUANTIZED_WEIGHTS_NAME, "config.json", "processor_config.json"} <= names
    assert json.loads((folder / "config.json").read_text())["id2label"]["1"] == "happy"
    # the export's own check runs on a shape it did not see
    assert result["max_abs_diff"][ONNX_WEIGHTS_NAME] <= ATOL
    assert (folder / ONNX_QUANTIZED_WEIGHTS_NAME).stat().st_size < (folder / ONNX_WEIGHTS_NAME).stat().st_size


def test_graph_has_named_dynamic_axes(exported):
    graph = onnx.load(exported[1] / ONNX_WEIGHTS_NAME, load_external_data=False).graph
    axes = {
        value.name: [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim] for value in graph.input
    }
    assert axes == {
        "input_ids": ["batch", "text_length"],
        "attention_mask": ["batch", "text_length"],
        "input_values": ["batch", "audio_length"],
        "audio_attention_mask": ["batch", "audio_length"],
    }
    assert [d.dim_param for d in graph.output[0].type.tensor_type.shape.dim][0] == "batch"


@pytest.mark.parametrize(
    "seconds, texts",
    [
        ([0.5], [0]),  # batch 1 (the export used 2)
        ([0.37, 0.11, 0.52], [3, 0, 9]),  # padding in text and audio, longest audio last
        ([0.05, 0.05, 0.05, 0.05, 0.05], [1, 2, 3, 4, 5]),  # batch 5, short audio
        ([1.3, 0.2], [10, 30]),  # audio longer than anything seen
    ],
)
def test_parity_on_varied_lengths_and_padding(exported, ort_model, tiny_processor, seconds, texts):
    model = exported[0]
    batch = batch_of(tiny_processor, (seconds, texts))
    np.testing.assert_allclose(ort_model(**batch).logits.numpy(), eager(model, batch).numpy(), atol=ATOL, rtol=0)


def test_padded_and_unpadded_inputs_agree_as_in_eager(exported, ort_model, tiny_processor):
    model = exported[0]
    padded = batch_of(tiny_processor, ([0.4, 0.13, 0.27], [2, 7, 20]))
    # each row alone, cut to its valid tokens and samples (the processor normalises each waveform on its own)
    alone = []
    for row in range(3):
        tokens, samples = int(padded["attention_mask"][row].sum()), int(padded["audio_attention_mask"][row].sum())
        alone.append(
            {
                "input_ids": padded["input_ids"][row : row + 1, :tokens],
                "attention_mask": padded["attention_mask"][row : row + 1, :tokens],
                "input_values": padded["input_values"][row : row + 1, :samples],
                "audio_attention_mask": padded["audio_attention_mask"][row : row + 1, :samples],
            }
        )
    ort_alone = torch.cat([ort_model(**single).logits for single in alone])
    eager_alone = torch.cat([eager(model, single) for single in alone])
    torch.testing.assert_close(eager(model, padded), eager_alone, atol=ATOL, rtol=0)  # the layer-norm HuBERT
    torch.testing.assert_close(ort_model(**padded).logits, ort_alone, atol=ATOL, rtol=0)
    torch.testing.assert_close(ort_alone, eager_alone, atol=ATOL, rtol=0)


def test_pipeline_on_the_ort_model_equals_eager(exported, ort_model, tiny_processor):
    model, folder, _ = exported
    clips = [synthetic_waveform(0.1 + 0.09 * i, seed=i) for i in range(4)]
    texts = [TINY_CORPUS[i * 5] for i in range(4)]
    inputs = [{"audio": clip, "sampling_rate": 16000, "text": text} for clip, text in zip(clips, texts)]
    torch_pipe = pipeline(TASK, model=model, processor=tiny_processor, device="cpu")
    ort_pipe = pipeline(TASK, model=ort_model, processor=str(folder))  # the processor saved with the export
    for batch_size in (1, 3):
        expected = torch_pipe(inputs, batch_size=batch_size, top_k=None)
        got = ort_pipe(inputs, batch_size=batch_size, top_k=None)
        for want, have in zip(expected, got):
            assert [entry["label"] for entry in have] == [entry["label"] for entry in want]
            np.testing.assert_allclose([e["score"] for e in have], [e["score"] for e in want], atol=ATOL)
    assert "CMTOnnxModel" in repr(ort_pipe.model)


def test_int8_model_loads_and_runs_close(exported, tiny_processor):
    model, folder, _ = exported
    int8 = CMTOnnxModel.from_pretrained(folder, file_name=ONNX_QUANTIZED_WEIGHTS_NAME)
    batch = batch_of(tiny_processor, ([0.3, 0.21], [4, 8]))
    logits, expected = int8(**batch).logits, eager(model, batch)
    assert logits.shape == expected.shape and torch.isfinite(logits).all()
    # random tiny weights: int8 rounding moves the logits a little, not their scale
    assert (logits - expected).abs().max() < 0.1 * expected.abs().max() + 0.05


def test_quantize_command_and_float_convolutions(exported, tmp_path):
    """`quantize` on an export's folder; by default the audio convolutions become integer ones, except the first
    (on the raw waveform); `--keep-conv-float` leaves them all in float32."""
    folder = exported[1]
    (tmp_path / ONNX_WEIGHTS_NAME).write_bytes((folder / ONNX_WEIGHTS_NAME).read_bytes())
    (tmp_path / "config.json").write_bytes((folder / "config.json").read_bytes())

    def op_types(path):
        return [node.op_type for node in onnx.load(path).graph.node if "Conv" in node.op_type]

    assert op_types(folder / ONNX_QUANTIZED_WEIGHTS_NAME) == ["Conv", "ConvInteger", "ConvInteger"]
    main(["quantize", "--model", str(tmp_path), "--keep-conv-float"])
    assert op_types(tmp_path / ONNX_QUANTIZED_WEIGHTS_NAME) == ["Conv", "Conv", "Conv"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.json", "model.onnx", "model_quantized.onnx"]
    with pytest.raises(SystemExit):
        main(["quantize", "--model", str(tmp_path / "nothing")])


def test_regression_head_exports_and_scores_as_eager(tmp_path, tiny_tokenizer, tiny_processor):
    torch.manual_seed(2)
    # one layer per backbone and per stream: the head is what differs, and the export's time grows with the graph
    config = tiny_cmt_config(tiny_tokenizer, num_labels=1, num_cross_layers=1)
    config.text_config.num_hidden_layers = config.audio_config.num_hidden_layers = 1
    model = CMTForSequenceRegression(config).eval()
    result = export_onnx(model, tmp_path, tiny_processor)
    assert result["max_abs_diff"][ONNX_WEIGHTS_NAME] <= ATOL
    scorer = pipeline(TASK, model=CMTOnnxModel.from_pretrained(tmp_path), processor=tiny_processor)
    expected = pipeline(TASK, model=model, processor=tiny_processor, device="cpu")
    clip = {"audio": synthetic_waveform(0.33, seed=5), "sampling_rate": 16000, "text": TINY_CORPUS[3]}
    got, want = scorer(clip), expected(clip)
    assert got["score"] == pytest.approx(want["score"], abs=ATOL)
    assert (got["acc7_class"], got["label"]) == (want["acc7_class"], want["label"])


def test_ort_model_checks_its_inputs(ort_model, exported):
    inputs = example_inputs(exported[0].config)
    with pytest.raises(ValueError, match="logits only.*labels"):
        ort_model(**inputs, labels=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="receptive field"):
        ort_model(**{**inputs, "audio_attention_mask": torch.zeros_like(inputs["audio_attention_mask"])})
    with pytest.raises(ValueError, match="`audio_attention_mask` has shape"):
        ort_model(**{**inputs, "audio_attention_mask": inputs["audio_attention_mask"][:, :-1]})
    with pytest.raises(ValueError, match="needs input_values"):
        ort_model(input_ids=inputs["input_ids"])
    nan_audio = inputs["input_values"].clone()
    nan_audio[1, 3] = float("nan")
    with pytest.raises(ValueError, match=r"`input_values` of batch item\(s\) \[1\] hold NaN"):
        ort_model(**{**inputs, "input_values": nan_audio})
    with pytest.raises(ValueError, match="not right-padded"):
        ort_model(**{**inputs, "audio_attention_mask": inputs["audio_attention_mask"].flip(-1)})
    with pytest.raises(ValueError, match="all zeros"):
        ort_model(**{**inputs, "attention_mask": torch.zeros_like(inputs["attention_mask"])})
    with pytest.raises(ValueError, match="batch sizes differ"):
        ort_model(**{**inputs, "input_ids": inputs["input_ids"][:1], "attention_mask": None})
    assert ort_model.to("cpu") is ort_model and ort_model.eval() is ort_model
    if "CUDAExecutionProvider" not in __import__("onnxruntime").get_available_providers():
        with pytest.raises(ValueError, match="device='cpu'"):
            ort_model.to("cuda")


def test_bad_folders_are_named(tmp_path, capsys, exported):
    roberta = tmp_path / "roberta"
    RobertaConfig(num_hidden_layers=1).save_pretrained(roberta)
    pretraining = tmp_path / "pretraining"
    config = exported[0].config.to_dict()
    config["architectures"] = [CMTForPreTraining.__name__]
    pretraining.mkdir()
    (pretraining / "config.json").write_text(json.dumps(config))
    cases = [
        (roberta, "holds a 'roberta' model"),
        (tmp_path / "missing", "is not a folder"),
        (tmp_path, "has no config.json"),
        (pretraining, "without a task head"),
    ]
    for folder, message in cases:
        with pytest.raises(SystemExit) as raised:
            main(["export", "--model", str(folder), "--output", str(tmp_path / "out")])
        assert raised.value.code == 2
        assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match="No ONNX model.*python -m modeling_cmt.onnx export"):
        CMTOnnxModel.from_pretrained(roberta)
    with pytest.raises(ValueError, match=r"the folder has model.onnx, model_quantized.onnx"):
        CMTOnnxModel.from_pretrained(exported[1], file_name="model_int4.onnx")
    with pytest.raises(ValueError, match="CMT model with a task head.*CMTForPreTraining"):
        export_onnx(CMTForPreTraining(exported[0].config), tmp_path / "out")


def test_module_entry_point_and_light_import():
    """In one fresh interpreter: `import modeling_cmt` loads neither this module nor onnxruntime; then
    `python -m modeling_cmt.onnx` (as `runpy` runs it) refuses a missing folder by name."""
    code = (
        "import runpy, sys, modeling_cmt\n"
        "loaded = [m for m in ('modeling_cmt.onnx', 'onnxruntime', 'onnx') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "sys.argv = ['modeling_cmt.onnx', 'export', '--model', 'no/such/dir', '--output', 'out']\n"
        "runpy.run_module('modeling_cmt.onnx', run_name='__main__', alter_sys=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and "'no/such/dir' is not a folder" in result.stderr, result.stderr[-2000:]


def test_benchmark_section_7_renders_only_when_run():
    """benchmarks/bench_onnx.py's figures from made-up timings, rendered by report.py: results without section 7
    (a run without --onnx, or written before it existed) render without it."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_onnx
    import report

    stored = json.loads((ROOT / "benchmarks" / "results" / "latest.json").read_text(encoding="utf-8"))
    stored.pop("onnx", None)
    assert report.render_markdown(stored).count("## 7.") == 0
    per_call = {"eager_fp32": 1.0, "ort_fp32": 0.8, "ort_int8": 0.4, "transformers_pipelines": 0.9}
    samples = {
        (name, b): [{"cpu": 16 * s / b**0.5, "wall": 16 * s / b**0.5 + 0.1} for _ in range(3)]
        for name, s in per_call.items()
        for b in (1, 8)
    }
    profile = {"total_s": 1.0, "top_ops": [{"op": "MatMul", "s": 0.6, "share": 0.6}]}
    accuracy = {
        "utterances": 60,
        "accuracy": {"eager_fp32": 0.8, "ort_fp32": 0.8, "ort_int8": 0.8},
        "int8_change_points": 0.0,
        "int8_prediction_agreement": 1.0,
        "size_mib": {"ort_fp32": 2.0, "ort_int8": 1.0},
    }
    section = bench_onnx.section_figures(
        samples,
        16,
        [1, 8],
        "cpu",
        {"max_abs_diff": {ONNX_WEIGHTS_NAME: 1e-6}},
        100.0,
        {"ort_fp32": 981.0, "ort_int8": 386.0},
        {name: {"max_abs_logit_diff": 0.01, "top1_agreement": 1.0} for name in ("ort_fp32", "ort_int8")},
        {name: profile for name in ("eager_fp32", "ort_fp32", "ort_int8")},
        accuracy,
    )
    assert section["throughput_vs_eager"]["1"]["ort_int8"] == pytest.approx(2.5)
    assert section["utterances_per_s"]["1"]["eager_fp32"] == pytest.approx(1.0)
    assert section["int8_target_met"] and section["fp32_target_met"]
    markdown = report.render_markdown({**stored, "onnx": section})
    assert (
        "| ONNX Runtime int8 / eager fp32 throughput, batch 1 | 2.50x, quickstart accuracy +0.0 points |" in markdown
    )
    assert "\n| the same pipeline on `CMTOnnxModel`, ONNX Runtime fp32 | 1.25 | 3.54 | 1.25 | 1.25 |\n" in markdown
    assert markdown.index("## 6. GPU") < markdown.index("## 7. CPU inference") and "(2.54x smaller)" in markdown
