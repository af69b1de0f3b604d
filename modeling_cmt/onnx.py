# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""ONNX export of the CMT task heads and inference with ONNX Runtime.

    python -m modeling_cmt.onnx export --model runs/quickstart/finetuned-CMT --output runs/quickstart/onnx --quantize

writes `model.onnx` (float32; dynamic batch, text length and audio length), with `--quantize` also
`model_quantized.onnx` (int8 weights, dynamic quantization), beside the model's `config.json` and processor. The
folder then runs behind the same pipeline as the PyTorch model:

```python
>>> from transformers import pipeline
>>> from modeling_cmt.onnx import CMTOnnxModel

>>> model = CMTOnnxModel.from_pretrained("runs/quickstart/onnx")  # or file_name="model_quantized.onnx"
>>> classifier = pipeline("audio-text-sentiment", model=model, processor="runs/quickstart/onnx")
>>> classifier("clip.wav", text="Excuse me.")
```

The exporter is torch's own (`torch.onnx.export(..., dynamo=True)`, i.e. `torch.export` then ONNX): optimum-onnx, the
ecosystem's exporter, pins transformers < 4.58, and the TorchScript-based exporter is deprecated since torch 2.9 and
bakes any value-dependent branch of the traced inputs into the graph without a word, where `torch.export` refuses it.
Two pieces of the eager forward read values on the host and are swapped for the export (`_exportable`): the input
checks (this module's [`CMTOnnxModel`] runs the same checks before each call) and the frame count of the audio frame
mask, computed from the input length with Python integers so that it stays symbolic.

This is the publishing / deployment layer (docs/architecture.md): it imports the model and the processor, and
`import modeling_cmt` does not import it (onnx and onnxruntime are the `cmt[onnx]` extra).
"""

import argparse
import contextlib
import importlib
import logging
import os
import shutil
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import AutoConfig

from configuration_cmt import CMTConfig, audio_frame_lengths, audio_receptive_field
from processing_cmt import CMTProcessor

from .modeling_cmt import (
    CMTForSequenceClassification,
    CMTForSequenceRegression,
    CMTModel,
    CMTSequenceClassifierOutput,
)


__all__ = ["CMTOnnxModel", "ONNX_WEIGHTS_NAME", "ONNX_QUANTIZED_WEIGHTS_NAME", "export_onnx", "quantize_onnx"]

logger = logging.getLogger(__name__)

ONNX_WEIGHTS_NAME = "model.onnx"
ONNX_QUANTIZED_WEIGHTS_NAME = "model_quantized.onnx"  # optimum's name for a dynamically quantized model
INPUT_NAMES = ("input_ids", "attention_mask", "input_values", "audio_attention_mask")
OUTPUT_NAMES = ("logits",)
DEFAULT_OPSET = 18
# named dynamic axes (torch.onnx turns each name into `Dim.DYNAMIC` and names the graph's axes after it)
DYNAMIC_AXES = {
    "input_ids": {0: "batch", 1: "text_length"},
    "attention_mask": {0: "batch", 1: "text_length"},
    "input_values": {0: "batch", 1: "audio_length"},
    "audio_attention_mask": {0: "batch", 1: "audio_length"},
}
HEADS = {cls.__name__: cls for cls in (CMTForSequenceClassification, CMTForSequenceRegression)}
# protobuf's limit on one file: above it the weights go to an external data file beside the graph
MAX_SINGLE_FILE_BYTES = 2**31 - 2**26


def _require(module: str) -> types.ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"ONNX export and inference need `{module}`: `pip install 'cmt[onnx]'` (onnx, onnxruntime, onnxscript)."
        ) from error


# ---------------------------------------------------------------------------------------------------------------------
# Export


class _LogitsOnly(nn.Module):
    """The exported graph: the four model inputs in, the logits out (no loss, no hidden states)."""

    def __init__(self, model: CMTForSequenceClassification):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, input_values, audio_attention_mask):
        return self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            input_values=input_values,
            audio_attention_mask=audio_attention_mask,
            return_dict=True,
        ).logits


def _symbolic_audio_frame_mask(self, input_values: torch.Tensor, audio_attention_mask: torch.Tensor | None):
    """`CMTModel.audio_frame_mask` with the frame count in Python integers: `int(tensor)` would freeze the audio
    length of the export's example into the graph (torch.export stops on it as a value read)."""
    num_frames = input_values.shape[1]
    for kernel, stride in zip(self.config.audio_config.conv_kernel, self.config.audio_config.conv_stride):
        num_frames = (num_frames - kernel) // stride + 1
    if audio_attention_mask is None:
        return torch.ones(input_values.shape[0], num_frames, dtype=torch.long, device=input_values.device)
    frame_lengths = audio_frame_lengths(self.config.audio_config, audio_attention_mask.sum(-1))
    return (torch.arange(num_frames, device=input_values.device)[None, :] < frame_lengths[:, None]).long()


@contextlib.contextmanager
def _exportable(model: CMTForSequenceClassification) -> Iterator[None]:
    """Swaps, on this model instance only and for the export, the two host-side reads of the eager forward: the value
    checks of the inputs ([`CMTOnnxModel`] runs them before each call) and the frame count of the audio frame mask."""
    cmt = model.cmt
    cmt._check_inputs = lambda *args: None
    cmt.audio_frame_mask = types.MethodType(_symbolic_audio_frame_mask, cmt)
    try:
        yield
    finally:
        del cmt._check_inputs, cmt.audio_frame_mask


def example_inputs(config: CMTConfig, batch_size: int = 2, text_length: int = 7, frames: int = 13, seed: int = 0):
    """Model inputs of the given shape with the last example padded (text and audio): the export's example (its sizes
    are not 0 or 1, which torch.export would specialise on) and the parity check's."""
    generator = torch.Generator().manual_seed(seed)
    text_config = config.text_config
    input_ids = torch.randint(5, text_config.vocab_size, (batch_size, text_length), generator=generator)
    input_ids[:, 0], input_ids[:, -1] = text_config.bos_token_id or 0, text_config.eos_token_id or 2
    attention_mask = torch.ones_like(input_ids)
    hop = int(np.prod(config.audio_config.conv_stride))
    samples = audio_receptive_field(config.audio_config) + (frames - 1) * hop
    input_values = torch.randn(batch_size, samples, generator=generator)
    audio_attention_mask = torch.ones(batch_size, samples, dtype=torch.long)
    if batch_size > 1:
        input_ids[-1, text_length - 2 :] = text_config.pad_token_id if text_config.pad_token_id is not None else 1
        attention_mask[-1, text_length - 2 :] = 0
        input_values[-1, samples // 2 :] = 0.0
        audio_attention_mask[-1, samples // 2 :] = 0
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "input_values": input_values,
        "audio_attention_mask": audio_attention_mask,
    }


def _check_exportable(model: Any) -> None:
    if not isinstance(model, CMTForSequenceClassification):
        raise ValueError(
            "ONNX export takes a CMT model with a task head (CMTForSequenceClassification or "
            f"CMTForSequenceRegression), got {type(model).__name__}."
        )
    if model.config.modalities != "audio_text":
        raise ValueError(
            f"ONNX export takes the audio-text CMT; this model is a single-modal baseline "
            f"(modalities={model.config.modalities!r})."
        )


def export_onnx(
    model: CMTForSequenceClassification,
    output_dir: str | os.PathLike,
    processor: CMTProcessor | None = None,
    *,
    quantize: bool = False,
    quantize_convolutions: bool = True,
    opset: int = DEFAULT_OPSET,
    verify: bool = True,
) -> dict[str, Any]:
    """
    Exports a CMT task head to `output_dir/model.onnx` (float32) with dynamic batch, text length and audio length,
    and saves its config (and `processor`) beside it, so that [`CMTOnnxModel.from_pretrained`] and the pipeline load
    the folder.

    Args:
        model ([`CMTForSequenceClassification`] or [`CMTForSequenceRegression`]): the model; exported in float32 and
            eval mode (a copy is not made: the model is left in eval mode).
        output_dir (`str` or `os.PathLike`): the folder, created if needed.
        processor ([`CMTProcessor`], *optional*): saved beside the model (the pipeline loads it from the folder).
        quantize (`bool`, *optional*, defaults to `False`): also write `model_quantized.onnx` ([`quantize_onnx`]).
        quantize_convolutions (`bool`, *optional*, defaults to `True`): with `quantize`, quantize the audio
            backbone's convolutions too (`False` keeps them in float32: slower, closer to the float model).
        opset (`int`, *optional*, defaults to 18): the ONNX opset.
        verify (`bool`, *optional*, defaults to `True`): run the exported graph(s) with ONNX Runtime on inputs of a
            shape not seen at export (other batch size, lengths and padding) and compare with the eager logits.

    Returns:
        `dict`: `paths` (what was written) and, with `verify`, `max_abs_diff` per ONNX file.
    """
    _check_exportable(model)
    output_dir = Path(output_dir)
    if output_dir.is_file():
        raise ValueError(f"The output folder {os.fspath(output_dir)!r} is a file.")
    output_dir.mkdir(parents=True, exist_ok=True)
    model = model.float().eval()
    inputs = example_inputs(model.config)
    onnx_path = output_dir / ONNX_WEIGHTS_NAME
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    with _exportable(model), torch.no_grad(), warnings.catch_warnings():
        # every input's axis 0 is "batch" (and each mask's axis 1 its tensor's): torch.onnx warns of each share
        warnings.filterwarnings("ignore", message="# The axis name: .* will not be used")
        program = torch.onnx.export(
            _LogitsOnly(model).eval(),
            (),
            kwargs=inputs,
            dynamic_shapes=DYNAMIC_AXES,
            input_names=list(INPUT_NAMES),
            output_names=list(OUTPUT_NAMES),
            opset_version=opset,
            dynamo=True,
            optimize=True,
            verbose=False,
        )
    program.save(onnx_path, external_data=weight_bytes > MAX_SINGLE_FILE_BYTES)
    model.config.save_pretrained(output_dir)
    if processor is not None:
        processor.save_pretrained(output_dir)
    paths = [onnx_path]
    if quantize:
        paths.append(quantize_onnx(onnx_path, output_dir / ONNX_QUANTIZED_WEIGHTS_NAME, quantize_convolutions))
    result: dict[str, Any] = {"paths": paths}
    if verify:
        # a shape the export did not see: batch 3, other lengths, padding in the last example
        check = example_inputs(model.config, batch_size=3, text_length=11, frames=21, seed=1)
        with torch.no_grad():
            expected = model(**check).logits.numpy()
        result["max_abs_diff"] = {
            path.name: float(
                np.abs(
                    CMTOnnxModel.from_pretrained(output_dir, file_name=path.name)(**check).logits.numpy() - expected
                ).max()
            )
            for path in paths
        }
    return result


def quantize_onnx(model_path: str | os.PathLike, output_path: str | os.PathLike, convolutions: bool = True) -> Path:
    """
    Dynamic int8 quantization of an exported CMT (`onnxruntime.quantization.quantize_dynamic`): int8 weights, and
    activations quantized on the fly per call.

    The matrix multiplications (`MatMul`, `Gemm`) take signed int8 weights, the fast kernels of CPUs with VNNI. With
    `convolutions`, HuBERT's convolutions follow in a second pass with unsigned weights, the ones ONNX Runtime's CPU
    `ConvInteger` takes: left in float32 they are half the int8 model's time (the feature encoder runs five
    512-channel convolutions over the waveform). The first convolution, on the raw waveform (one input channel), stays
    in float32: it is cheap and sees the signal itself (as does a convolution whose weight the graph computes).

    Args:
        model_path (`str` or `os.PathLike`): the float32 `model.onnx`.
        output_path (`str` or `os.PathLike`): where the int8 model goes.
        convolutions (`bool`, *optional*, defaults to `True`): also quantize the convolutions.

    Returns:
        `Path`: `output_path`.
    """
    quantization = _require("onnxruntime.quantization")
    model_path, output_path = Path(model_path), Path(output_path)
    if not model_path.is_file():
        raise ValueError(f"No ONNX model at {os.fspath(model_path)!r}.")
    external = model_path.stat().st_size > MAX_SINGLE_FILE_BYTES
    matmul_path = output_path.with_name(output_path.stem + ".matmul.onnx") if convolutions else output_path
    root = logging.getLogger()
    root.addFilter(_quiet_pre_processing_advice)
    try:
        quantization.quantize_dynamic(
            model_path,
            matmul_path,
            op_types_to_quantize=["MatMul", "Gemm"],
            weight_type=quantization.QuantType.QInt8,
            use_external_data_format=external,
        )
        if convolutions:
            quantization.quantize_dynamic(
                matmul_path,
                output_path,
                op_types_to_quantize=["Conv"],
                weight_type=quantization.QuantType.QUInt8,
                nodes_to_exclude=_float_convolutions(matmul_path),
                use_external_data_format=external,
            )
    finally:
        root.removeFilter(_quiet_pre_processing_advice)
        if convolutions:
            for path in (matmul_path, matmul_path.with_name(matmul_path.name + ".data")):
                path.unlink(missing_ok=True)
    return output_path


def _quiet_pre_processing_advice(record: logging.LogRecord) -> bool:
    # quantize_dynamic advises its pre-processing (shape inference, graph optimization) on every call: the exporter
    # has already optimized the graph (onnxscript's optimizer) and ONNX Runtime optimizes it again at load
    return not record.getMessage().startswith("Please consider to run pre-processing before quantization")


def _float_convolutions(model_path: Path) -> list[str]:
    """Names of the `Conv` nodes that stay in float32: those on the raw waveform (a weight with one input channel),
    and those whose weight the graph computes (a weight-norm parametrization left unfolded), which the quantizer
    cannot take."""
    graph = _require("onnx").load(os.fspath(model_path), load_external_data=False).graph
    in_channels = {tensor.name: tensor.dims[1] for tensor in graph.initializer if len(tensor.dims) == 3}
    return [node.name for node in graph.node if node.op_type == "Conv" and in_channels.get(node.input[1], 1) == 1]


def load_for_export(model_dir: str | os.PathLike) -> tuple[CMTForSequenceClassification, CMTProcessor | None]:
    """The task head saved in `model_dir` (its `architectures`, else by `num_labels`) and its processor, if saved."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ValueError(f"The model folder {os.fspath(model_dir)!r} is not a folder (save_pretrained writes one).")
    if not (model_dir / "config.json").is_file():
        raise ValueError(f"The model folder {os.fspath(model_dir)!r} has no config.json: not a saved checkpoint.")
    config = AutoConfig.from_pretrained(model_dir)
    if config.model_type != CMTConfig.model_type:
        raise ValueError(
            f"The model folder {os.fspath(model_dir)!r} holds a {config.model_type!r} model "
            f"({type(config).__name__}), not a CMT one."
        )
    architectures = config.architectures or []
    heads = [HEADS[name] for name in architectures if name in HEADS]
    if architectures and not heads:
        raise ValueError(
            f"The model folder {os.fspath(model_dir)!r} holds a {', '.join(architectures)} checkpoint without a "
            "task head: export a fine-tuned CMTForSequenceClassification or CMTForSequenceRegression."
        )
    head = heads[0] if heads else CMTForSequenceClassification
    model = head.from_pretrained(model_dir, dtype=torch.float32)
    processor = None
    if (model_dir / "processor_config.json").is_file() or (model_dir / "tokenizer_config.json").is_file():
        processor = CMTProcessor.from_pretrained(model_dir)
    else:
        logger.warning("No processor in %s: pass `processor=` to the pipeline of the exported model.", model_dir)
    return model, processor


# ---------------------------------------------------------------------------------------------------------------------
# Inference


class CMTOnnxModel:
    """
    An exported CMT task head run by ONNX Runtime, with the calling convention of the PyTorch model: `model(**inputs)`
    takes the processor's tensors and returns a [`CMTSequenceClassifierOutput`] whose `logits` is a torch tensor.
    It goes wherever the pipeline takes a model: `pipeline("audio-text-sentiment", model=CMTOnnxModel(...),
    processor=...)`.

    Only the logits are computed (no loss, hidden states or attentions); the inputs go through the eager forward's own
    checks first (shapes, all-zero text masks, NaN audio, left-padded or too short audio), with the same errors.

    Args:
        session (`onnxruntime.InferenceSession`): the session of an exported `model.onnx` / `model_quantized.onnx`.
        config ([`CMTConfig`]): the exported model's config (labels, `problem_type`, the audio backbone's shape).
    """

    main_input_name = "input_ids"
    input_modalities = ("audio", "text")
    dtype = torch.float32  # of the inputs and logits; the int8 model quantizes its activations inside the graph

    def __init__(self, session, config: CMTConfig, model_path: str | os.PathLike | None = None):
        names = {value.name for value in session.get_inputs()}
        if names != set(INPUT_NAMES):
            raise ValueError(f"The ONNX model takes inputs {sorted(names)}; a CMT export takes {list(INPUT_NAMES)}.")
        self.session, self.config = session, config
        self.model_path = None if model_path is None else Path(model_path)
        self.device = torch.device("cuda" if "CUDAExecutionProvider" in session.get_providers() else "cpu")
        # what `CMTModel._check_inputs` reads of its model
        self._checks = types.SimpleNamespace(config=config, uses_text=True, uses_audio=True)

    @classmethod
    def from_pretrained(
        cls,
        model_dir: str | os.PathLike,
        file_name: str = ONNX_WEIGHTS_NAME,
        *,
        providers: list | None = None,
        session_options=None,
        num_threads: int | None = None,
    ) -> "CMTOnnxModel":
        """
        Loads `model_dir/file_name` and `model_dir/config.json`, as [`export_onnx`] writes them.

        Args:
            model_dir (`str` or `os.PathLike`): the export's folder.
            file_name (`str`, *optional*, defaults to `"model.onnx"`): `"model_quantized.onnx"` for the int8 model.
            providers (`list`, *optional*): ONNX Runtime execution providers; default the CPU's.
            session_options (`onnxruntime.SessionOptions`, *optional*): e.g. thread counts, graph optimizations.
            num_threads (`int`, *optional*): intra-op threads (a shortcut for `session_options.intra_op_num_threads`).
        """
        ort = _require("onnxruntime")
        model_dir = Path(model_dir)
        path = model_dir / file_name
        if not path.is_file():
            found = sorted(p.name for p in model_dir.glob("*.onnx")) if model_dir.is_dir() else []
            raise ValueError(
                f"No ONNX model at {os.fspath(path)!r}"
                + (
                    f" (the folder has {', '.join(found)})."
                    if found
                    else "; export one with `python -m modeling_cmt.onnx export`."
                )
            )
        config = AutoConfig.from_pretrained(model_dir)
        if config.model_type != CMTConfig.model_type:
            raise ValueError(f"{os.fspath(model_dir)!r} holds a {config.model_type!r} config, not a CMT one.")
        options = session_options or ort.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        session = ort.InferenceSession(
            os.fspath(path), sess_options=options, providers=providers or ["CPUExecutionProvider"]
        )
        return cls(session, config, model_path=path)

    def __call__(
        self,
        input_ids=None,
        attention_mask=None,
        input_values=None,
        audio_attention_mask=None,
        return_dict: bool = True,
        **kwargs,
    ) -> CMTSequenceClassifierOutput | tuple:
        """The logits of one batch; inputs as [`CMTForSequenceClassification.forward`] takes them (tensors, arrays or
        lists)."""
        unsupported = sorted(key for key, value in kwargs.items() if value is not None and value is not False)
        if unsupported:
            raise ValueError(
                f"The ONNX model computes the logits only; it does not take {unsupported} (compute a loss from "
                "`.logits`, or run the PyTorch model for hidden states and attentions)."
            )
        feeds = self._feeds(input_ids, attention_mask, input_values, audio_attention_mask)
        (logits,) = self.session.run(list(OUTPUT_NAMES), feeds)
        output = CMTSequenceClassifierOutput(logits=torch.from_numpy(logits))
        return output if return_dict else output.to_tuple()

    forward = __call__

    def _feeds(self, input_ids, attention_mask, input_values, audio_attention_mask) -> dict[str, np.ndarray]:
        arrays = {
            "input_ids": _array(input_ids, np.int64),
            "attention_mask": _array(attention_mask, np.int64),
            "input_values": _array(input_values, np.float32),
            "audio_attention_mask": _array(audio_attention_mask, np.int64),
        }
        # The eager forward's own checks (shapes; values: all-zero text masks, NaN audio, left-padded or too short
        # audio), run on the host as the eager model runs them there: the same errors from either backend.
        tensors = [None if array is None else torch.from_numpy(array) for array in arrays.values()]
        CMTModel._check_inputs(self._checks, *tensors)
        if arrays["attention_mask"] is None:
            arrays["attention_mask"] = np.ones_like(arrays["input_ids"])
        if arrays["audio_attention_mask"] is None:
            arrays["audio_attention_mask"] = np.ones(arrays["input_values"].shape, dtype=np.int64)
        return arrays

    # What transformers' `Pipeline` asks of a model.

    def eval(self) -> "CMTOnnxModel":
        return self

    def train(self, mode: bool = True) -> "CMTOnnxModel":
        if mode:
            raise ValueError("An ONNX Runtime model runs inference only; train the PyTorch model.")
        return self

    def can_generate(self) -> bool:
        return False

    def to(self, device: str | torch.device | None = None, *args, **kwargs) -> "CMTOnnxModel":
        """Moves the session to `device`: the CPU, or a CUDA device where onnxruntime-gpu is installed."""
        if device is None:
            return self
        device = torch.device(device)
        if device.type == self.device.type:
            return self
        ort = _require("onnxruntime")
        if device.type != "cuda" or "CUDAExecutionProvider" not in ort.get_available_providers():
            raise ValueError(
                f"This ONNX Runtime build cannot run on {device} (providers: {ort.get_available_providers()}); "
                "build the pipeline with device='cpu'."
            )
        providers = [("CUDAExecutionProvider", {"device_id": device.index or 0}), "CPUExecutionProvider"]
        self.session.set_providers(providers)
        self.device = device
        return self

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs) -> None:
        """Copies the ONNX file and the config into `save_directory` (what `Pipeline.save_pretrained` calls)."""
        save_directory = Path(save_directory)
        save_directory.mkdir(parents=True, exist_ok=True)
        if self.model_path is None:
            raise ValueError("This CMTOnnxModel was built from a session without a file; nothing to copy.")
        for source in [self.model_path, *self.model_path.parent.glob(f"{self.model_path.name}.data")]:
            if source.resolve() != (save_directory / source.name).resolve():
                shutil.copyfile(source, save_directory / source.name)
        self.config.save_pretrained(save_directory)

    def __repr__(self) -> str:
        return f"CMTOnnxModel({self.model_path or 'session'}, providers={self.session.get_providers()})"


def _array(value: Any, dtype) -> np.ndarray | None:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.ascontiguousarray(np.asarray(value), dtype=dtype)


# ---------------------------------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """`python -m modeling_cmt.onnx export --model DIR --output DIR [--quantize]` and `quantize --model DIR`."""
    parser = argparse.ArgumentParser(
        prog="python -m modeling_cmt.onnx", description="ONNX export of a fine-tuned CMT checkpoint."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="export a checkpoint folder to ONNX (float32, optionally int8)")
    export.add_argument("--model", required=True, help="a fine-tuned CMT checkpoint folder (save_pretrained)")
    export.add_argument("--output", required=True, help="the export's folder (model.onnx, config, processor)")
    export.add_argument("--quantize", action="store_true", help="also write model_quantized.onnx (int8 weights)")
    export.add_argument(
        "--keep-conv-float",
        dest="quantize_convolutions",
        action="store_false",
        help="with --quantize, leave the convolutions in float32 (slower; only the matrix multiplications in int8)",
    )
    export.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    export.add_argument("--no-verify", dest="verify", action="store_false", help="skip the parity check")
    quantize = commands.add_parser("quantize", help="write model_quantized.onnx beside an exported model.onnx")
    quantize.add_argument("--model", required=True, help="a folder written by `export`")
    quantize.add_argument("--keep-conv-float", dest="quantize_convolutions", action="store_false")
    args = parser.parse_args(argv)
    try:
        if args.command == "quantize":
            folder = Path(args.model)
            path = quantize_onnx(
                folder / ONNX_WEIGHTS_NAME, folder / ONNX_QUANTIZED_WEIGHTS_NAME, args.quantize_convolutions
            )
            print(f"Wrote {path} ({path.stat().st_size / 2**20:.1f} MiB).")
            return {"paths": [path]}
        model, processor = load_for_export(args.model)
        result = export_onnx(
            model,
            args.output,
            processor,
            quantize=args.quantize,
            quantize_convolutions=args.quantize_convolutions,
            opset=args.opset,
            verify=args.verify,
        )
    except ValueError as error:
        parser.error(str(error))
    for path in result["paths"]:
        diff = result.get("max_abs_diff", {}).get(path.name)
        check = "" if diff is None else f", max |logits - eager| {diff:.2e} on an unseen shape"
        print(f"Wrote {path} ({path.stat().st_size / 2**20:.1f} MiB{check}).")
    print(
        f"Run it: pipeline('audio-text-sentiment', model=CMTOnnxModel.from_pretrained({args.output!r}), "
        f"processor={args.output!r}), with `from modeling_cmt.onnx import CMTOnnxModel`."
    )
    return result


if __name__ == "__main__":
    main()
