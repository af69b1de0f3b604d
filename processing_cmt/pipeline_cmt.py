# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""`pipeline("audio-text-sentiment")`: emotion or sentiment of a recording and its transcript with a fine-tuned CMT.

Paper: "Cross-modal pretrained transformer for audio-text emotion and sentiment" (`shared/paper/cmt-paper.txt`), §3.4.

The task is registered with transformers' `PIPELINE_REGISTRY` when `processing_cmt` is imported. The model is
loaded through `AutoModelForSequenceClassification`, so `import modeling_cmt` (which registers the CMT classes) is
needed too when loading from a folder or the Hub.
"""

import os
import sys
import types
from collections.abc import Mapping, Sequence, Sized
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from torch.utils.data import Dataset as TorchDataset
from transformers import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING, Pipeline, PreTrainedModel
from transformers import pipeline as build_pipeline
from transformers.pipelines.pt_utils import PipelineDataset, PipelineIterator

from configuration_cmt import CMTConfig, audio_receptive_field

from .audio_utils import audio_duration, load_audio
from .processing_cmt import CMTProcessor, pad_cmt_features


__all__ = ["AudioTextSentimentPipeline", "PIPELINE_TASK", "SENTIMENT_RANGE", "sentiment_classes", "sentiment_label"]

PIPELINE_TASK = "audio-text-sentiment"

# Keys of the model inputs that `preprocess` builds; everything else travels beside them to `postprocess`.
MODEL_INPUT_NAMES = ("input_ids", "attention_mask", "input_values", "audio_attention_mask")

# CMU-MOSEI sentiment scores are averages of annotations on [-3, 3].
SENTIMENT_RANGE = (-3.0, 3.0)

# `return_timeline=True` and its options (`processing_cmt.timeline.TIMELINE_ARGUMENTS`; a test checks they agree).
TIMELINE_ARGUMENTS = (
    "return_timeline",
    "segments",
    "max_segment_s",
    "vad_threshold",
    "min_silence_s",
    "min_speech_s",
    "speech_pad_s",
)

# `pipeline()` forwards this loading option to the pipeline class as well; it means nothing at inference time.
LOADING_KWARGS = ("local_files_only",)


def sentiment_classes(scores: Any, bound: float = SENTIMENT_RANGE[1]) -> np.ndarray:
    """The integer sentiment classes of MulT's protocol: round(clip(score, -bound, bound)), halves to even as
    `np.round` does (2.5 -> 2). `bound=3` gives the Acc7 classes -3..3, `bound=2` the Acc5 classes."""
    return np.round(np.clip(np.asarray(scores, dtype=np.float64), -bound, bound)).astype(np.int64)


def _is_hf_dataset(inputs: Any) -> bool:
    """Whether `inputs` is a `datasets.Dataset`, without importing `datasets` (seconds, and not needed to load a
    checkpoint): an object of that class exists only once its module has been imported."""
    module = sys.modules.get("datasets")
    return module is not None and isinstance(inputs, module.Dataset)


def sentiment_label(acc7_class: int) -> str:
    """
    The coarse sentiment of an Acc7 class: `"negative"` below 0, `"neutral"` at 0, `"positive"` above 0.

    Neutral is exactly Acc7 class 0, i.e. a score that rounds to 0 after clipping to [-3, 3] (|score| <= 0.5, with
    halves rounded to even as in the Acc7 metric). Note that Acc2 (§4.1.2) has no neutral class: it splits at 0.

    Args:
        acc7_class (`int`): a class in -3..3.

    Returns:
        `str`
    """
    if acc7_class < 0:
        return "negative"
    return "neutral" if acc7_class == 0 else "positive"


class _Example:
    """One input of a batch with its position, so that errors name it (`inputs[3]`)."""

    __slots__ = ("index", "item")

    def __init__(self, index: int | None, item: Any):
        self.index, self.item = index, item

    @property
    def name(self) -> str:
        return "inputs" if self.index is None else f"inputs[{self.index}]"


class _IndexedInputs(TorchDataset):
    """A sized collection of inputs (list, `datasets.Dataset`, ...) whose items carry their index; a torch `Dataset`,
    which `Pipeline.__call__` streams lazily."""

    def __init__(self, inputs: Sized):
        self.inputs = inputs

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> _Example:
        item = self.inputs[index]
        # Inputs put in length order carry their original index already.
        return item if isinstance(item, _Example) else _Example(index, item)


def _with_text(item: Any, text: Any, name: str) -> Any:
    """Joins a `text=` argument to its audio input, refusing a second transcript in an input dict."""
    if isinstance(item, Mapping):
        if item.get("text") is not None:
            raise ValueError(f"{name}: the input dict has a `text` and `text=` was given too; pass one of them.")
        return {**item, "text": text} if "audio" in item else {"audio": item, "text": text}
    return {"audio": item, "text": text}


class AudioTextSentimentPipeline(Pipeline):
    """
    Classifies the emotion (e.g. IEMOCAP's four classes) or scores the sentiment (CMU-MOSEI, [-3, 3]) of a spoken
    utterance from its audio and its transcript, with a fine-tuned [`CMTForSequenceClassification`].

    Build it with `pipeline("audio-text-sentiment", model=..., processor=...)`: `model` is a model object or a folder /
    Hub id holding a model saved with `save_pretrained` (and then, unless `processor=` is given, the
    [`CMTProcessor`] saved beside it).

    Inputs, one or a list of (with `batch_size` for batched inference):
    - a path (or raw bytes, a numpy array/torch tensor with `sampling_rate=`, a datasets-style audio dict) plus
      `text="the transcript"`;
    - a dict `{"audio": path | array | audio dict, "sampling_rate": rate (for a raw array), "text": transcript}`.
    A list of audio inputs takes `text=` as a list of transcripts of the same length. A `datasets.Dataset` of such
    dicts works too.

    When an input has no transcript, the audio is transcribed by `asr_model` (a transformers
    `"automatic-speech-recognition"` pipeline, or a model id / folder to build one from, e.g.
    `"openai/whisper-small"`; or `"faster-whisper:tiny.en"`, Whisper through CTranslate2 offline, see
    `processing_cmt.asr_backends`) and the result carries it under `"transcript"`; without `asr_model` it is an error.

    Outputs, per input:
    - classification checkpoint: a list of `{"label": str, "score": float}`, best first: the softmax over
      `config.id2label` (sigmoid per label for `problem_type="multi_label_classification"`), `top_k` of them
      (default 1, `None` for all);
    - regression checkpoint (`num_labels=1` or `problem_type="regression"`): a dict `{"score": float, "acc7_class":
      int in -3..3, "label": "negative" | "neutral" | "positive"}`, where `acc7_class` is the score clipped to [-3, 3]
      and rounded as the Acc7 metric does, and the label is its sign ([`sentiment_label`]: neutral is class 0).
    With ASR, each classification dict and the regression dict also have `"transcript"`.

    Example:

    ```python
    >>> import modeling_cmt, processing_cmt  # register the CMT models, processor and this task
    >>> from transformers import pipeline

    >>> classifier = pipeline("audio-text-sentiment", model="path/to/cmt-iemocap")
    >>> classifier("Ses01F_impro01_F000.wav", text="Excuse me.", top_k=None)
    [{'label': 'neutral', 'score': 0.71}, {'label': 'angry', 'score': 0.16}, ...]
    >>> classifier([{"audio": "a.wav", "text": "I am so happy!"}, {"audio": "b.wav", "text": "Leave me alone."}])
    [[{'label': 'happy', 'score': 0.93}], [{'label': 'angry', 'score': 0.55}]]

    >>> scorer = pipeline("audio-text-sentiment", model="path/to/cmt-mosei", asr_model="openai/whisper-small")
    >>> scorer("review.wav")
    {'score': 1.83, 'acc7_class': 2, 'label': 'positive', 'transcript': 'I would definitely recommend it.'}
    ```

    Bad inputs (unreadable or empty audio, NaN samples, audio shorter than the audio backbone's receptive field, an
    empty or non-string transcript, an unsupported type) raise a `ValueError` naming the input (`inputs[3]` in a
    batch) before anything runs on the batch. For a run over many files that should finish whatever one of them holds,
    pass `errors="return"`: an input that cannot be read, transcribed or encoded then gets, in place of its result,
    `{"error": "inputs[3] audio ('b.wav'): cannot decode ...", "input": "inputs[3]"}`, and the others their results:

    ```python
    >>> results = classifier(files, text=transcripts, batch_size=8, errors="return")
    >>> failed = [result for result in results if isinstance(result, dict) and "error" in result]
    ```

    Loading from a folder: with this package installed, `pipeline("audio-text-sentiment", model=folder)`. Where it
    is not, `pipeline(model=folder, trust_remote_code=True)` runs the code the model's `save_pretrained` exported
    into the folder; that export registers the pipeline under `custom_pipelines["cmt-audio-text-sentiment"]`, since
    transformers demands `trust_remote_code=True` for any task named there, even when the task is installed.
    """

    _load_processor = True
    _load_tokenizer = False
    _load_feature_extractor = False
    _load_image_processor = False
    _load_video_processor = False

    def __init__(self, *args, **kwargs):
        # Built lazily from model ids / folders given as `asr_model=`, once per id.
        self._asr_pipelines: dict[str, Pipeline] = {}
        # `return_timeline` and its options given when the pipeline is built: the long-recording mode's defaults
        self._timeline_params = {key: kwargs.pop(key) for key in TIMELINE_ARGUMENTS if key in kwargs}
        super().__init__(*args, **kwargs)
        # by name, not isinstance: loaded as remote code from a local folder, the processor's class is another copy
        if not any(cls.__name__ == CMTProcessor.__name__ for cls in type(self.processor).__mro__):
            raise ValueError(
                f"{PIPELINE_TASK} needs a CMTProcessor (`processor=`, or saved beside the model with "
                f"`processor.save_pretrained`), got {type(self.processor).__name__}."
            )
        if self.tokenizer.pad_token_id is None:
            raise ValueError(f"The processor's tokenizer ({type(self.tokenizer).__name__}) has no pad token.")
        config = self.model.config
        if getattr(config, "model_type", None) != CMTConfig.model_type:
            raise ValueError(
                f"{PIPELINE_TASK} needs a CMT model, got a {type(self.model).__name__} with model_type "
                f"{getattr(config, 'model_type', None)!r}."
            )
        # The registered head class, when this config class is registered (not for remote-code classes).
        head = None
        if type(config) in MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING:
            head = MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(config)]
        # a PyTorch model must be the head; another runtime's model (modeling_cmt.onnx's) was exported from one
        if head is not None and isinstance(self.model, PreTrainedModel) and not isinstance(self.model, head):
            raise ValueError(
                f"{PIPELINE_TASK} needs a model with a task head ({head.__name__}, as loaded by "
                f"AutoModelForSequenceClassification), got {type(self.model).__name__}."
            )
        self._min_audio_samples = audio_receptive_field(config.audio_config)

    @property
    def is_regression(self) -> bool:
        """Whether the checkpoint predicts a sentiment score rather than classes (the rule of the model's loss)."""
        config = self.model.config
        return config.problem_type == "regression" or (config.problem_type is None and config.num_labels == 1)

    def _sanitize_parameters(
        self,
        sampling_rate: int | None = None,
        asr_model: str | os.PathLike | Pipeline | None = None,
        max_audio_seconds: float | None = None,
        top_k: int | None | str = "",
        errors: str | None = None,
        **kwargs,
    ):
        unknown = sorted(set(kwargs) - set(LOADING_KWARGS))
        if unknown:
            raise ValueError(
                f"{PIPELINE_TASK} got unknown arguments {unknown}; it takes `text`, `sampling_rate`, `asr_model`, "
                "`max_audio_seconds`, `top_k`, `errors` and `batch_size`."
            )
        preprocess_params, postprocess_params = {}, {}
        if sampling_rate is not None:
            preprocess_params["sampling_rate"] = sampling_rate
        if max_audio_seconds is not None:
            # inf: no limit; NaN compares false with every length and would silently keep everything
            if isinstance(max_audio_seconds, bool) or not (
                isinstance(max_audio_seconds, (int, float)) and max_audio_seconds > 0
            ):
                raise ValueError(
                    f"`max_audio_seconds` must be a positive number of seconds, got {max_audio_seconds!r}."
                )
            preprocess_params["max_audio_seconds"] = max_audio_seconds
        if errors is not None:
            if errors not in ("raise", "return"):
                raise ValueError(f"`errors` must be 'raise' (the default) or 'return', got {errors!r}.")
            preprocess_params["errors"] = errors
        if asr_model is not None:
            preprocess_params["asr_model"] = self._resolve_asr(asr_model)
        # "" = not given (text-classification's convention), as `None` asks for every label.
        if top_k != "":
            if self.is_regression:
                raise ValueError(
                    "`top_k` applies to classification checkpoints; this one is a regression checkpoint "
                    f"(num_labels={self.model.config.num_labels}) that returns a single score."
                )
            if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
                raise ValueError(f"`top_k` must be a positive int or None (all labels), got {top_k!r}.")
            postprocess_params["top_k"] = top_k
        return preprocess_params, {}, postprocess_params

    def _resolve_asr(self, asr_model: str | os.PathLike | Pipeline) -> Pipeline:
        try:  # absolute and in a `try`: the flat remote-code copy of this module has transformers' ASR only
            from processing_cmt.asr_backends import WordTranscriber, is_faster_whisper_model, load_word_transcriber
        except ImportError:
            WordTranscriber, is_faster_whisper_model = (), lambda _: False
        if isinstance(asr_model, (Pipeline, WordTranscriber)):
            return asr_model
        if isinstance(asr_model, (str, os.PathLike)):
            key = os.fspath(asr_model)
            if key not in self._asr_pipelines:
                if is_faster_whisper_model(key):  # "faster-whisper:tiny.en" or a CTranslate2 folder
                    self._asr_pipelines[key] = load_word_transcriber(key, device=self.device)
                else:
                    try:
                        self._asr_pipelines[key] = build_pipeline(
                            "automatic-speech-recognition", model=key, device=self.device
                        )
                    except OSError as error:  # transformers' message for a missing folder is about repo ids
                        where = "does not exist" if not os.path.exists(key) else "holds no loadable model"
                        raise ValueError(
                            f"`asr_model` {key!r} cannot be loaded: as a folder it {where}, and it is no model id that "
                            f"could be loaded ({error})."
                        ) from error
            return self._asr_pipelines[key]
        raise ValueError(
            "`asr_model` must be a transformers speech recognition pipeline (`pipeline('automatic-speech-recognition', "
            f"...)`), a model id / folder to build one from, or 'faster-whisper:tiny.en' (a CTranslate2 Whisper), got "
            f"{type(asr_model).__name__}."
        )

    def __call__(
        self, inputs: Any, text: str | Sequence[str] | None = None, group_by_length: bool = True, **kwargs
    ) -> Any:
        """
        Classifies or scores one input or a list of them.

        Args:
            inputs (`str`, `dict`, `np.ndarray`, `torch.Tensor`, `bytes`, or a list / `datasets.Dataset` of them):
                See the class docstring.
            text (`str` or `list[str]`, *optional*):
                The transcript of a single input, or one transcript per input of a list.
            sampling_rate (`int`, *optional*):
                Rate of raw arrays / tensors given without a dict (dicts and files carry their own).
            asr_model (`str` or `Pipeline`, *optional*):
                Transcribes the inputs that come without a transcript: an automatic-speech-recognition pipeline, a
                transformers model id / folder, or a faster-whisper model (`"faster-whisper:tiny.en"`, a CTranslate2
                folder; [`~processing_cmt.asr_backends.load_word_transcriber`]).
            max_audio_seconds (`float`, *optional*):
                Keep only the first seconds of every recording that comes without a transcript (before transcribing
                it). A longer recording with a transcript is an error: the transcript covers all of it, and training
                never pairs a transcript with part of its audio either.
            top_k (`int` or `None`, *optional*, defaults to 1):
                Number of labels returned, best first; `None` for all. Classification checkpoints only.
            batch_size (`int`, *optional*, defaults to 1):
                Inputs per forward pass; padding does not change the results.
            errors (`str`, *optional*, defaults to `"raise"`):
                What a bad input (unreadable or too short audio, an unusable transcript, a failed transcription)
                does: `"raise"` stops the call with a `ValueError` naming it; `"return"` puts `{"error": message,
                "input": "inputs[i]"}` in its place in the results and runs the others (the model's own failures on
                a batch still raise).
            group_by_length (`bool`, *optional*, defaults to `True`):
                With a list of inputs and `batch_size` > 1, run the inputs longest first (by audio duration, read from
                file headers or array shapes without decoding, then transcript length), so that each batch holds
                utterances of similar lengths and little padding; the results come back in the input order. Falls
                back to the input order when a duration is not known before decoding (e.g. a path that does not
                exist, which then fails with its name). Datasets and generators always stream in their own order.
            return_timeline (`bool`, *optional*, defaults to `False`):
                Long recordings: cut the recording at speech pauses (Silero VAD) into segments of at most
                `max_segment_s` (default 15) seconds, transcribe each segment with `asr_model` unless `text` is given
                (a string for the whole recording, aligned to the recognised words; or a list, one per segment),
                classify each segment, and return a timeline dict (`segments`, `summary`, `message`) instead; the
                file is read window by window, never whole. Options: `max_segment_s`, `vad_threshold`,
                `min_silence_s`, `min_speech_s`, `speech_pad_s`, `segments` (your own `(start, end)` seconds). See
                `processing_cmt.timeline` for the dict and its JSON / CSV / PNG writers.

        Returns:
            For one input, a list of `{"label", "score"}` dicts (classification) or a `{"score", "acc7_class",
            "label"}` dict (regression), plus `"transcript"` when ASR ran; for a list, a list of those (with
            `errors="return"`, an `{"error", "input"}` dict for each input that failed).
        """
        if kwargs.pop("return_timeline", self._timeline_params.get("return_timeline", False)):
            return self._timeline(inputs, text, **kwargs)
        misplaced = sorted(set(kwargs) & set(TIMELINE_ARGUMENTS))
        if misplaced:
            raise ValueError(f"{misplaced} apply to long recordings: pass them with `return_timeline=True`.")
        if isinstance(inputs, tuple):
            inputs = list(inputs)
        if isinstance(inputs, list) and len(inputs) == 0:
            raise ValueError(f"{PIPELINE_TASK} got an empty list of inputs.")
        if text is not None:
            if isinstance(inputs, list):
                if isinstance(text, str) or not isinstance(text, Sequence) or len(text) != len(inputs):
                    raise ValueError(
                        f"For a list of {len(inputs)} inputs, `text` must be a list of {len(inputs)} transcripts, got "
                        f"{text!r:.200}."
                    )
                inputs = [_with_text(item, t, f"inputs[{i}]") for i, (item, t) in enumerate(zip(inputs, text))]
            elif isinstance(inputs, (types.GeneratorType, TorchDataset)) or _is_hf_dataset(inputs):
                raise ValueError("With a dataset or generator of inputs, give each transcript in its dict (`text`).")
            else:
                inputs = _with_text(inputs, text, "inputs")
        if _is_hf_dataset(inputs):
            # transformers streams torch datasets only; a `datasets.Dataset` would be taken for a single input.
            inputs = _IndexedInputs(inputs)
        if isinstance(inputs, TorchDataset) and isinstance(inputs, Sized) and len(inputs) == 0:
            raise ValueError(f"{PIPELINE_TASK} got an empty dataset of inputs.")  # would return an empty iterator
        batch_size = kwargs.get("batch_size", self._batch_size)
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ValueError(f"`batch_size` must be a positive integer, got {batch_size!r}.")
        batch_size = batch_size or 1
        if isinstance(inputs, list) and batch_size > 1 and group_by_length:
            order = self._length_order(inputs, **kwargs)
            if order is not None:
                results = super().__call__([_Example(index, inputs[index]) for index in order], **kwargs)
                in_input_order = [None] * len(inputs)
                for index, result in zip(order, results):
                    in_input_order[index] = result
                return in_input_order
        return super().__call__(inputs, **kwargs)

    def _timeline(self, inputs: Any, text: Any, **kwargs) -> dict[str, Any] | list[dict[str, Any]]:
        """`return_timeline=True`: segments, labels and a summary over a long recording (`processing_cmt.timeline`)."""
        try:  # absolute and in a `try`: the installed package's module, never part of a checkpoint's remote code
            from processing_cmt.timeline import pipeline_timelines
        except ImportError as error:
            raise ImportError(
                "`return_timeline=True` needs the cmt package installed (`pip install 'cmt[long]'`); a checkpoint's "
                "remote code classifies single utterances only."
            ) from error
        return pipeline_timelines(self, inputs, text, **kwargs)

    def _length_order(
        self, inputs: list, sampling_rate: int | None = None, max_audio_seconds: float | None = None, **kwargs
    ) -> list[int] | None:
        """Input indices longest first (audio seconds, then transcript characters); `None` when a duration is not
        known without decoding."""
        sampling_rate = sampling_rate or self._preprocess_params.get("sampling_rate")
        max_audio_seconds = max_audio_seconds or self._preprocess_params.get("max_audio_seconds")
        keys = []
        for index, item in enumerate(inputs):
            try:
                audio, text, rate = self._split_input(item, f"inputs[{index}]")
            except ValueError:
                return None  # `preprocess` raises it again, naming the input
            seconds = audio_duration(audio, rate if rate is not None else sampling_rate)
            if seconds is None:
                return None
            if max_audio_seconds:
                seconds = min(seconds, max_audio_seconds)
            keys.append((seconds, len(text or "")))
        return sorted(range(len(inputs)), key=lambda index: keys[index], reverse=True)

    def get_iterator(
        self, inputs, num_workers: int, batch_size: int, preprocess_params, forward_params, postprocess_params
    ):
        """
        [`Pipeline.get_iterator`] with two changes: every input carries its index (for error messages) and batches
        are padded by [`pad_cmt_features`] (the default collate cannot pad two modalities with their own masks).
        """
        if isinstance(inputs, Sized):
            if not isinstance(inputs, _IndexedInputs):
                inputs = _IndexedInputs(inputs)
            dataset = PipelineDataset(inputs, self.preprocess, preprocess_params)
        else:
            # A generator: one pass, no workers (as the base class does).
            examples = (_Example(index, item) for index, item in enumerate(inputs))
            dataset = PipelineIterator(examples, self.preprocess, preprocess_params)
            num_workers = 0
        if "TOKENIZERS_PARALLELISM" not in os.environ:
            os.environ["TOKENIZERS_PARALLELISM"] = "false"  # the DataLoader may use worker processes
        collate_fn = _first_item if batch_size == 1 else self._collate
        dataloader = DataLoader(dataset, num_workers=num_workers, batch_size=batch_size, collate_fn=collate_fn)
        model_iterator = PipelineIterator(dataloader, self.forward, forward_params, loader_batch_size=batch_size)
        return PipelineIterator(model_iterator, self.postprocess, postprocess_params)

    def _collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        # Each item is a padded batch of one (see `preprocess`); take its unpadded rows back out.
        failed = [item for item in items if "error" in item]  # errors="return": inputs that could not be prepared
        prepared = [item for item in items if "error" not in item]
        features = [{"input_ids": item["input_ids"][0], "input_values": item["input_values"][0]} for item in prepared]
        batch = pad_cmt_features(features, self.tokenizer.pad_token_id) if features else {}
        # One list per example, so that unbatching the outputs gives each example the list a batch of one has.
        batch["transcript"] = [item["transcript"] for item in items]
        if failed:
            batch["error"] = [item.get("error", [None])[0] for item in items]  # per row: its error or None
        return batch

    def preprocess(self, inputs: Any, errors: str = "raise", **preprocess_params) -> dict[str, Any]:
        """Reads, transcribes (`asr_model`) and encodes one input; with `errors="return"`, an input that fails
        becomes `{"error": [{"error": message, "input": name}]}`, which `postprocess` returns in place of its result."""
        if errors == "raise":
            return self._prepare(inputs, **preprocess_params)
        try:
            return self._prepare(inputs, **preprocess_params)
        except Exception as error:  # any failure of one input: the batch goes on, the entry says which and why
            name = inputs.name if isinstance(inputs, _Example) else "inputs"
            message = str(error) if str(error).startswith(name) else f"{name}: {error}"
            return {"error": [{"error": message, "input": name}], "transcript": [None]}

    def _prepare(
        self,
        inputs: Any,
        sampling_rate: int | None = None,
        asr_model: Pipeline | None = None,
        max_audio_seconds: float | None = None,
    ) -> dict[str, Any]:
        example = inputs if isinstance(inputs, _Example) else _Example(None, inputs)
        name, item = example.name, example.item
        audio, text, rate = self._split_input(item, name)
        if isinstance(audio, bytes):
            audio = {"bytes": audio}
        waveform = load_audio(
            audio,
            self.processor.sampling_rate,
            name=f"{name} audio",
            source_sampling_rate=rate if rate is not None else sampling_rate,
        )
        if max_audio_seconds is not None and waveform.size > max_audio_seconds * self.processor.sampling_rate:
            # one rule with training: a transcript is never paired with part of its audio
            if text is not None:
                raise ValueError(
                    f"{name}: the audio lasts {waveform.size / self.processor.sampling_rate:.1f} s, longer than "
                    f"max_audio_seconds={max_audio_seconds}, and its transcript covers all of it: cutting the audio "
                    "would pair the transcript with part of it. Drop `max_audio_seconds`, or give the transcript of "
                    "the part you keep."
                )
            waveform = waveform[: max(1, int(round(max_audio_seconds * self.processor.sampling_rate)))]
        if waveform.size < self._min_audio_samples:
            raise ValueError(
                f"{name}: the audio is too short ({waveform.size} samples at {self.processor.sampling_rate} Hz); the "
                f"audio backbone needs at least {self._min_audio_samples} samples for one frame."
            )

        transcript = None
        if text is None:
            if asr_model is None:
                raise ValueError(
                    f"{name}: no transcript. Give it with `pipe(audio, text='...')`, as `{{'audio': ..., 'text': "
                    "'...'}`, or as `text=[...]` for a list of inputs; or pass `asr_model=` (a speech recognition "
                    "pipeline or model id, e.g. 'openai/whisper-small') to transcribe the audio."
                )
            text = transcript = self._transcribe(asr_model, waveform, name)

        # The processor re-reads the decoded waveform (a cheap finiteness check, no resampling) so that text and
        # audio go through exactly the code that prepared the training data.
        try:
            encoded = self.processor(
                text=text,
                audio={"array": waveform, "sampling_rate": self.processor.sampling_rate},
                padding=False,
            )
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from error
        feature = {"input_ids": encoded["input_ids"][0], "input_values": encoded["input_values"][0]}
        model_inputs = pad_cmt_features([feature], self.tokenizer.pad_token_id)
        model_inputs["transcript"] = [transcript]
        return model_inputs

    @staticmethod
    def _split_input(item: Any, name: str) -> tuple[Any, str | None, int | None]:
        """`(audio, text, sampling_rate)` of one input; `text` and the rate of a raw array are None when not given."""
        rate = None
        if isinstance(item, Mapping):
            text = item.get("text")
            if "audio" in item:
                audio, rate = item["audio"], item.get("sampling_rate")
            elif any(item.get(key) is not None for key in ("array", "path", "bytes")):
                audio = item  # a datasets-style audio dict itself
            else:
                raise ValueError(
                    f"{name}: a dict input needs an `audio` (path, array or audio dict) and a `text`; got keys "
                    f"{sorted(item)}."
                )
            if audio is None:
                raise ValueError(f"{name}: `audio` is None.")
        elif isinstance(item, (str, os.PathLike, bytes, np.ndarray, torch.Tensor)):
            audio, text = item, None
        else:
            raise ValueError(
                f"{name}: unsupported input of type {type(item).__name__}; expected an audio path, bytes, a numpy "
                "array or torch tensor (with `sampling_rate=`), or a dict `{'audio': ..., 'text': ...}`."
            )
        if text is not None and not isinstance(text, str):
            raise ValueError(f"{name}: the transcript must be a string, got {type(text).__name__}.")
        return audio, text, rate

    def _transcribe(self, asr_model: Pipeline, waveform: np.ndarray, name: str) -> str:
        asr_rate = getattr(getattr(asr_model, "feature_extractor", None), "sampling_rate", None)
        if asr_rate is not None and int(asr_rate) != self.processor.sampling_rate:
            # Resample here: the ASR pipeline would need torchaudio for it.
            waveform = load_audio(
                {"array": waveform, "sampling_rate": self.processor.sampling_rate}, int(asr_rate), name=f"{name} audio"
            )
        rate = int(asr_rate) if asr_rate is not None else self.processor.sampling_rate
        try:
            if isinstance(asr_model, Pipeline):
                result = asr_model({"raw": waveform, "sampling_rate": rate})
            else:  # a processing_cmt.asr_backends.WordTranscriber (faster-whisper): words with timestamps
                result = {"text": " ".join(word.text for word in asr_model(waveform, rate))}
        except Exception as error:  # name the input whatever the ASR model raised
            raise ValueError(f"{name}: the ASR model failed on this audio: {error}") from error
        transcript = result.get("text") if isinstance(result, Mapping) else None
        if not isinstance(transcript, str):
            raise ValueError(
                f"{name}: the ASR model returned {type(result).__name__} without a `text` string; `asr_model` must be "
                "an automatic-speech-recognition pipeline."
            )
        transcript = transcript.strip()
        if not transcript:
            raise ValueError(f"{name}: the ASR model returned an empty transcript (no speech recognised).")
        return transcript

    def _forward(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        if "error" in model_inputs:
            return self._forward_around_errors(model_inputs)
        outputs = self.model(**{key: model_inputs[key] for key in MODEL_INPUT_NAMES})
        # `logits` first: the batch iterator reads the batch size off the first entry.
        return {"logits": outputs.logits, "transcript": model_inputs["transcript"]}

    def _forward_around_errors(self, model_inputs: dict[str, Any]) -> dict[str, Any]:
        """errors="return": the model runs on the batch's prepared rows; a failed row gets NaN logits, and its error
        travels beside them to `postprocess`."""
        errors = model_inputs["error"]  # per row: None (prepared) or its error entry
        prepared = [row for row, error in enumerate(errors) if error is None]
        logits = torch.full((len(errors), self.model.config.num_labels), float("nan"))
        if prepared:
            outputs = self.model(**{key: model_inputs[key] for key in MODEL_INPUT_NAMES})
            logits = logits.to(device=outputs.logits.device, dtype=outputs.logits.dtype)
            logits[prepared] = outputs.logits
        return {"logits": logits, "transcript": model_inputs["transcript"], "error": errors}

    def postprocess(self, model_outputs: dict[str, Any], top_k: int | None = 1) -> list[dict[str, Any]] | dict:
        error = model_outputs.get("error")
        if isinstance(error, list):  # a batch of one: its list of rows
            error = error[0]
        if error is not None:
            return error  # errors="return": `{"error": message, "input": name}` in place of the result
        logits = model_outputs["logits"][0].float()  # (num_labels,)
        transcript = model_outputs["transcript"][0]
        extra = {} if transcript is None else {"transcript": transcript}
        if self.is_regression:
            score = float(logits[0])
            acc7_class = int(sentiment_classes(score))  # the Acc7 class of `sa_metrics`
            return {"score": score, "acc7_class": acc7_class, "label": sentiment_label(acc7_class), **extra}
        if self.model.config.problem_type == "multi_label_classification":
            scores = torch.sigmoid(logits)
        else:
            scores = torch.softmax(logits, dim=-1)
        id2label = self.model.config.id2label
        ranked = sorted(
            ({"label": id2label[index], "score": float(score)} for index, score in enumerate(scores.tolist())),
            key=lambda entry: entry["score"],
            reverse=True,
        )
        if top_k is not None:
            ranked = ranked[:top_k]
        return [{**entry, **extra} for entry in ranked]

    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs):
        """
        Saves the model and the processor so that `pipeline("audio-text-sentiment", model=save_directory)` loads them.

        Unlike [`Pipeline.save_pretrained`], this registers no `custom_pipelines["audio-text-sentiment"]` entry: with
        one, transformers refuses to load the folder without `trust_remote_code=True`, even given the task name (the
        model's own export adds the `cmt-audio-text-sentiment` alias for remote code).

        Args:
            save_directory (`str` or `os.PathLike`): the folder, created if needed.
            kwargs: passed to the model's and processor's `save_pretrained` (e.g. `push_to_hub`).
        """
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory {os.fspath(save_directory)!r} is a file, not a folder.")
        os.makedirs(save_directory, exist_ok=True)
        self.model.save_pretrained(save_directory, **kwargs)
        self.processor.save_pretrained(save_directory, **kwargs)


def _first_item(items: list[Any]) -> Any:
    # batch_size=1: `preprocess` already returns a batch of one.
    return items[0]
