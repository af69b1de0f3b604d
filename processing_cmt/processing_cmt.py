# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Processor of the Cross-Modal Transformer (CMT): a tokenizer for the transcript and a wav2vec 2.0-style feature
extractor for the speech, as the RoBERTa and HuBERT backbones of §3.2 expect them.

The audio path does not call `Wav2Vec2FeatureExtractor.__call__` (slow, and it re-pads every batch): the waveform is
decoded once by `load_audio`, then normalised and padded here with exactly the extractor's arithmetic. Padding of
already processed examples ([`pad_cmt_features`]) lives here too, as in transformers' `processing_wav2vec2.py`: the
collators and the pipeline call it. Going through `tokenizer.pad` and `Wav2Vec2FeatureExtractor.pad` instead costs
about as much per batch as a training step, and gives the same tensors (the tests check this). The extractor
still owns the audio settings (`sampling_rate`, `do_normalize`, `padding_value`) and their save/load.
"""

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from transformers import AutoFeatureExtractor, AutoTokenizer, BatchFeature, ProcessorMixin, Wav2Vec2FeatureExtractor
from transformers.utils import PaddingStrategy

from .audio_utils import load_audio


__all__ = ["CMTProcessor", "DEFAULT_AUDIO_CHECKPOINT", "DEFAULT_TEXT_CHECKPOINT", "pad_cmt_features", "pad_rows"]

# The backbones of §4.2.
DEFAULT_TEXT_CHECKPOINT = "FacebookAI/roberta-large"
DEFAULT_AUDIO_CHECKPOINT = "facebook/hubert-large-ll60k"

# Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm's epsilon: matching it keeps our features identical to its output.
NORMALIZATION_EPS = 1e-7

# transformers marks a tokenizer that does not know its model's limit with `model_max_length = int(1e30)`; anything
# this large is no limit a text backbone has.
UNKNOWN_MODEL_MAX_LENGTH = int(1e20)


def _round_up(length: int, multiple: int | None) -> int:
    if multiple is None or multiple <= 1:
        return length
    return -(-length // multiple) * multiple


def pad_rows(rows: list[np.ndarray], padded_length: int, value, dtype) -> torch.Tensor:
    """Right-pads 1-D rows into a `(len(rows), padded_length)` tensor: one memory copy per row, none per element."""
    out = np.full((len(rows), padded_length), value, dtype=dtype)
    for index, row in enumerate(rows):
        out[index, : row.size] = row
    return torch.from_numpy(out)


def _length_mask(lengths: list[int], padded_length: int, dtype) -> torch.Tensor:
    return torch.from_numpy((np.arange(padded_length)[None, :] < np.asarray(lengths)[:, None]).astype(dtype))


def _check_unpadded(feature: Mapping[str, Any], mask_key: str, length: int, index: int):
    mask = feature.get(mask_key)
    valid = None if mask is None else int(np.asarray(mask).sum())
    if valid is not None and valid != length:
        raise ValueError(
            f"Example {index}: `{mask_key}` marks {valid} of its {length} positions as valid, so the example is "
            "already padded; collators expect unpadded examples (tokenise and extract features without padding)."
        )


def pad_cmt_features(
    features: Sequence[Mapping[str, Any]],
    pad_token_id: int,
    pad_to_multiple_of: int | None = None,
    audio_pad_to_multiple_of: int | None = None,
) -> dict[str, torch.Tensor]:
    """
    Pads a list of unpadded CMT examples into a batch: text with the tokenizer's pad id, audio with 0.0, both on the
    right (CMT pools the first text token and the backbone's frame mask assumes right padding).

    Equal to `tokenizer.pad(...)` (right padding side) plus `Wav2Vec2FeatureExtractor.pad(..., padding_value=0.0)` on
    the same inputs, at a fraction of their cost.

    Args:
        features (`Sequence[Mapping[str, Any]]`):
            Examples with `input_ids` (token ids including the special tokens) and `input_values` (a 1-D waveform
            already normalised by the feature extractor: list, numpy array or tensor). Other keys are ignored here.
        pad_token_id (`int`):
            The tokenizer's pad id.
        pad_to_multiple_of (`int`, *optional*):
            Pad the text length up to a multiple of this (e.g. 8 for tensor cores).
        audio_pad_to_multiple_of (`int`, *optional*):
            Pad the audio length, in samples, up to a multiple of this.

    Returns:
        `dict[str, torch.Tensor]`: `input_ids` and `attention_mask` `(batch, tokens)` int64 (as the tokenizer);
        `input_values` `(batch, samples)` float32 and `audio_attention_mask` `(batch, samples)` int32 (as the feature
        extractor), 1 on valid samples.

    Raises:
        `ValueError`: naming the example, for an empty batch, a missing `input_ids`/`input_values`, empty text, audio
        that is not 1-D or not finite, or an example that is already padded.
    """
    if len(features) == 0:
        raise ValueError("Cannot collate an empty list of examples.")
    text_rows, audio_rows = [], []
    for index, feature in enumerate(features):
        for key in ("input_ids", "input_values"):
            if feature.get(key) is None:
                raise ValueError(f"Example {index} has no `{key}`; got keys {sorted(feature)}.")
        ids = np.asarray(feature["input_ids"], dtype=np.int64)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(
                f"Example {index}: `input_ids` must be a non-empty 1-D list of ids, got shape {ids.shape}."
            )
        values = feature["input_values"]
        if isinstance(values, torch.Tensor):
            values = values.detach().cpu().float().numpy()
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 1:
            raise ValueError(
                f"Example {index}: `input_values` must be a 1-D waveform, got shape {values.shape} (downmix and "
                "unbatch with the processor first)."
            )
        _check_unpadded(feature, "attention_mask", ids.size, index)
        _check_unpadded(feature, "audio_attention_mask", values.size, index)
        text_rows.append(ids)
        audio_rows.append(values)

    text_lengths = [row.size for row in text_rows]
    audio_lengths = [row.size for row in audio_rows]
    text_length = _round_up(max(text_lengths), pad_to_multiple_of)
    audio_length = _round_up(max(audio_lengths), audio_pad_to_multiple_of)
    input_values = pad_rows(audio_rows, audio_length, 0.0, np.float32)
    finite = np.isfinite(input_values.numpy()).all(axis=1)
    if not finite.all():
        bad = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"Example {bad}: `input_values` has NaN or infinite samples.")
    batch = {
        "input_ids": pad_rows(text_rows, text_length, pad_token_id, np.int64),
        "attention_mask": _length_mask(text_lengths, text_length, np.int64),
        "input_values": input_values,
        # int32 like `Wav2Vec2FeatureExtractor.pad`: this mask is as long as the waveform.
        "audio_attention_mask": _length_mask(audio_lengths, audio_length, np.int32),
    }
    return batch


def _audio_name(index: int | None, audio: Any) -> str:
    label = "audio" if index is None else f"audio[{index}]"
    path = None
    if isinstance(audio, (str, os.PathLike)):
        path = audio
    elif isinstance(audio, Mapping) and audio.get("path") and audio.get("array") is None:
        path = audio["path"]
    return f"{label} ({os.fspath(path)})" if path is not None else label


class CMTProcessor(ProcessorMixin):
    r"""
    Prepares a transcript and its speech for [`CMTModel`]: the text through the tokenizer (RoBERTa's byte-level BPE by
    default), the audio decoded from any common form, resampled, downmixed, normalised per utterance and padded as a
    [`~transformers.Wav2Vec2FeatureExtractor`] does for HuBERT.

    Args:
        feature_extractor ([`~transformers.Wav2Vec2FeatureExtractor`]):
            Holds the audio settings: `sampling_rate` (the audio backbone's, 16 kHz for HuBERT), `do_normalize`
            (zero mean, unit variance per utterance over its valid samples) and `padding_value`.
        tokenizer ([`~transformers.PreTrainedTokenizerBase`]):
            Any tokenizer matching the text backbone.

    Example:

    ```python
    >>> from processing_cmt import CMTProcessor

    >>> processor = CMTProcessor.from_text_audio_pretrained("FacebookAI/roberta-large", "facebook/hubert-large-ll60k")
    >>> batch = processor(
    ...     text=["I can't believe it!", "Fine."], audio=["Ses01F_impro01_F000.wav", "clip.flac"], return_tensors="pt"
    ... )
    >>> sorted(batch.keys())
    ['attention_mask', 'audio_attention_mask', 'input_ids', 'input_values']
    ```
    """

    def __init__(self, feature_extractor, tokenizer):
        if not isinstance(feature_extractor, Wav2Vec2FeatureExtractor):
            raise ValueError(
                "CMTProcessor needs a Wav2Vec2FeatureExtractor (the one HuBERT, wav2vec 2.0 and WavLM use), got "
                f"{type(feature_extractor).__name__}."
            )
        super().__init__(feature_extractor, tokenizer)

    @classmethod
    def from_text_audio_pretrained(
        cls,
        text_name_or_path: str | os.PathLike = DEFAULT_TEXT_CHECKPOINT,
        audio_name_or_path: str | os.PathLike = DEFAULT_AUDIO_CHECKPOINT,
        **kwargs,
    ) -> "CMTProcessor":
        """
        Builds a processor from the tokenizer of a text checkpoint and the feature extractor of an audio checkpoint.

        Args:
            text_name_or_path (`str` or `os.PathLike`, *optional*, defaults to `"FacebookAI/roberta-large"`):
                Hub id or local directory holding the tokenizer files.
            audio_name_or_path (`str` or `os.PathLike`, *optional*, defaults to `"facebook/hubert-large-ll60k"`):
                Hub id or local directory holding a `preprocessor_config.json`.
            kwargs:
                Passed to both `from_pretrained` calls (e.g. `cache_dir`, `local_files_only`).

        Returns:
            [`CMTProcessor`]
        """
        tokenizer = AutoTokenizer.from_pretrained(text_name_or_path, **kwargs)
        feature_extractor = AutoFeatureExtractor.from_pretrained(audio_name_or_path, **kwargs)
        return cls(feature_extractor=feature_extractor, tokenizer=tokenizer)

    @property
    def sampling_rate(self) -> int:
        """The rate (Hz) every waveform is resampled to: the audio backbone's."""
        return int(self.feature_extractor.sampling_rate)

    @property
    def model_input_names(self) -> list[str]:
        text_names = [name for name in self.tokenizer.model_input_names if name != "attention_mask"]
        return text_names + ["attention_mask", "input_values", "audio_attention_mask"]

    def __call__(
        self,
        text: str | Sequence[str] | None = None,
        audio: Any = None,
        sampling_rate: int | None = None,
        padding: bool | str | PaddingStrategy = True,
        truncation: bool | str = True,
        max_length: int | None = None,
        max_audio_seconds: float | None = None,
        return_tensors: str | None = None,
        **tokenizer_kwargs,
    ) -> BatchFeature:
        """
        Tokenizes transcripts and decodes/normalises/pads the matching audio.

        Args:
            text (`str` or `list[str]`, *optional*):
                One transcript or a batch of them. Empty or whitespace-only transcripts are rejected.
            audio (*optional*):
                One audio input or a list of them (a batch is always a `list`/`tuple`; a 2-D array is one
                multichannel waveform). Each item is anything [`load_audio`] reads: a path, a dict
                `{"array", "sampling_rate"}` or `{"path", "bytes"}`, or a 1-D/2-D numpy array or torch tensor whose
                rate is given by `sampling_rate`.
            sampling_rate (`int`, *optional*):
                Rate of the raw arrays/tensors in `audio` (files and dicts carry their own). Everything is
                resampled to the feature extractor's rate.
            padding (`bool` or `str`, *optional*, defaults to `True`):
                `True`/`"longest"` pads text and audio to the longest item of the batch; `"max_length"` pads the
                text to `max_length` and the audio to the longest item; `False`/`"do_not_pad"` returns one
                variable-length list per example (for `datasets.map(batched=True)`; collators pad later).
            truncation (`bool` or `str`, *optional*, defaults to `True`):
                Passed to the tokenizer: by default transcripts are cut at `max_length`, or at the tokenizer's
                `model_max_length` (512 for RoBERTa), so the text backbone's position embeddings are never exceeded.
                A tokenizer without a `model_max_length` needs `max_length` (or `truncation=False`).
            max_length (`int`, *optional*):
                Passed to the tokenizer.
            max_audio_seconds (`float`, *optional*):
                Without `text`: keep only the first `max_audio_seconds` seconds of every waveform. With `text`,
                nothing is cut: a waveform longer than this is an error, since cutting it would pair the whole
                transcript with part of its audio (drop such utterances, or split them with their words, instead).
            return_tensors (`str`, *optional*):
                `"pt"` or `"np"` for a padded batch of tensors; `None` for Python lists (of 1-D float32 arrays for
                `input_values`).
            tokenizer_kwargs:
                Any other tokenizer argument (`add_special_tokens`, `return_token_type_ids`, ...).

        Returns:
            [`~transformers.BatchFeature`] with `input_ids` and `attention_mask` when `text` is given, and
            `input_values` (float32, `(batch, samples)`) and `audio_attention_mask` (1 on each valid sample) when
            `audio` is given. With `padding=False`, `input_values` is a list of normalised 1-D float32 arrays and
            there is no `audio_attention_mask` (all ones; [`~CMTProcessor.pad_audio`] makes it when padding).

        Raises:
            `ValueError`: naming the item (index and path) for an empty transcript, a non-string transcript, an
            unreadable/empty/non-finite audio, a raw array without `sampling_rate`; and for text and audio batches
            of different lengths or neither input given; naming the item, for audio longer than `max_audio_seconds`
            when `text` is given; for truncation without `max_length` by a tokenizer that has no `model_max_length`.
        """
        if text is None and audio is None:
            raise ValueError("CMTProcessor needs `text`, `audio` or both.")
        texts = self._check_texts(text) if text is not None else None
        audios = self._as_audio_batch(audio) if audio is not None else None
        audio_is_batch = isinstance(audio, (list, tuple))
        if texts is not None and audios is not None and len(texts) != len(audios):
            raise ValueError(
                f"Got {len(texts)} transcripts but {len(audios)} audio inputs; each transcript needs its audio."
            )

        strategy = self._padding_strategy(padding)
        data = {}
        if texts is not None:
            self._check_truncation_limit(truncation, max_length)
            encoding = self.tokenizer(
                texts,
                padding=padding if strategy is not PaddingStrategy.DO_NOT_PAD else False,
                truncation=truncation,
                max_length=max_length,
                **tokenizer_kwargs,
            )
            data.update(encoding.data)
        if audios is not None:
            # A transcript covers its whole recording: with `text`, audio over the limit is refused, never cut.
            cut_seconds = max_audio_seconds if texts is None else None
            waveforms = [
                load_audio(
                    item,
                    self.sampling_rate,
                    max_seconds=cut_seconds,
                    name=_audio_name(index if audio_is_batch else None, item),
                    source_sampling_rate=sampling_rate,
                )
                for index, item in enumerate(audios)
            ]
            if texts is not None and max_audio_seconds is not None:
                if not (isinstance(max_audio_seconds, (int, float)) and max_audio_seconds > 0):
                    raise ValueError(f"`max_audio_seconds` must be a positive number, got {max_audio_seconds!r}.")
                limit = max(1, int(round(min(max_audio_seconds, 1e9) * self.sampling_rate)))  # inf: no limit
                for index, (item, waveform) in enumerate(zip(audios, waveforms)):
                    if waveform.size > limit:
                        raise ValueError(
                            f"{_audio_name(index if audio_is_batch else None, item)} lasts "
                            f"{waveform.size / self.sampling_rate:.2f} s, longer than max_audio_seconds="
                            f"{max_audio_seconds:g}: cutting it would pair the whole transcript with part of its "
                            "audio. Keep the utterance whole (no `max_audio_seconds`), drop it, or split it with "
                            "its words."
                        )
            waveforms = [self.normalize_audio(waveform) for waveform in waveforms]
            if strategy is PaddingStrategy.DO_NOT_PAD:
                # No all-ones mask per sample: it would be 2x the size of the audio in a pre-processed corpus, and
                # `pad_audio` rebuilds it from the lengths.
                data["input_values"] = waveforms
            else:
                data.update(self.pad_audio(waveforms, return_tensors=None))

        if return_tensors is not None and strategy is PaddingStrategy.DO_NOT_PAD:
            for key, values in data.items():
                if len({len(value) for value in values}) > 1:
                    raise ValueError(
                        f"`padding=False` with `return_tensors={return_tensors!r}` needs items of equal length, but "
                        f"`{key}` lengths differ; pad (`padding=True`) or leave `return_tensors=None`."
                    )
        return BatchFeature(data, tensor_type=return_tensors)

    def normalize_audio(self, waveform: np.ndarray) -> np.ndarray:
        """
        Zero mean, unit variance over the waveform when the feature extractor has `do_normalize`, with the
        arithmetic of `Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm` (float32, variance + 1e-7).

        Args:
            waveform (`np.ndarray`): 1-D float32 samples of one utterance, unpadded.

        Returns:
            `np.ndarray`: 1-D float32.
        """
        waveform = np.asarray(waveform, dtype=np.float32)
        if not self.feature_extractor.do_normalize:
            return waveform
        return (waveform - waveform.mean()) / np.sqrt(waveform.var() + NORMALIZATION_EPS)

    def pad_audio(
        self,
        waveforms: Sequence[np.ndarray | torch.Tensor],
        return_tensors: str | None = "pt",
        pad_to_multiple_of: int | None = None,
    ) -> dict[str, Any]:
        """
        Right-pads already normalised waveforms to the longest one with the extractor's `padding_value`; what a
        collator needs after `processor(..., padding=False)`.

        Args:
            waveforms (`list` of 1-D `np.ndarray` or `torch.Tensor`):
                One normalised waveform per example.
            return_tensors (`str`, *optional*, defaults to `"pt"`):
                `"pt"`, `"np"` or `None` (a list of equal-length 1-D arrays).
            pad_to_multiple_of (`int`, *optional*):
                Round the padded length up to a multiple of this.

        Returns:
            `dict` with `input_values` (float32, `(batch, samples)`) and `audio_attention_mask` (int32, as the
            feature extractor and `pad_cmt_features` give it; 1 on valid samples).
        """
        if len(waveforms) == 0:
            raise ValueError("pad_audio got no waveforms.")
        if self.feature_extractor.padding_side != "right":
            # The model reads valid lengths off the mask as a prefix (`audio_frame_lengths`), so only right padding.
            raise ValueError(
                "CMT pads audio on the right; the feature extractor has "
                f"padding_side={self.feature_extractor.padding_side!r}."
            )
        arrays = []
        for index, waveform in enumerate(waveforms):
            if isinstance(waveform, torch.Tensor):
                waveform = waveform.detach().cpu().float().numpy()
            waveform = np.asarray(waveform, dtype=np.float32)
            if waveform.ndim != 1 or waveform.size == 0:
                raise ValueError(f"waveforms[{index}]: expected a non-empty 1-D waveform, got shape {waveform.shape}.")
            arrays.append(waveform)
        length = _round_up(max(len(array) for array in arrays), pad_to_multiple_of)
        input_values = pad_rows(arrays, length, self.feature_extractor.padding_value, np.float32).numpy()
        audio_attention_mask = _length_mask([len(array) for array in arrays], length, np.int32).numpy()
        if return_tensors == "pt":
            return {
                "input_values": torch.from_numpy(input_values),
                "audio_attention_mask": torch.from_numpy(audio_attention_mask),
            }
        if return_tensors == "np":
            return {"input_values": input_values, "audio_attention_mask": audio_attention_mask}
        if return_tensors is None:
            return {"input_values": list(input_values), "audio_attention_mask": list(audio_attention_mask)}
        raise ValueError(f"return_tensors must be 'pt', 'np' or None, got {return_tensors!r}.")

    def _check_truncation_limit(self, truncation: bool | str, max_length: int | None) -> None:
        """
        Refuses to tokenize with truncation on but no length to cut at: the tokenizer would then cut nothing, and a
        long transcript would run past the text backbone's position embeddings (an `IndexError` deep in the model).
        The processor does not know the model, so it asks rather than guesses a limit.
        """
        if max_length is not None or truncation in (False, "do_not_truncate"):
            return
        limit = getattr(self.tokenizer, "model_max_length", None)
        if limit is None or limit >= UNKNOWN_MODEL_MAX_LENGTH:
            raise ValueError(
                f"The tokenizer ({type(self.tokenizer).__name__}) has no `model_max_length`, so transcripts cannot be "
                "truncated to the text backbone's limit and a long one would overrun its position embeddings. Pass "
                "`max_length=` (512 for RoBERTa: its `max_position_embeddings` minus 2), or set "
                "`processor.tokenizer.model_max_length` once (it is saved with the processor)."
            )

    @staticmethod
    def _padding_strategy(padding: bool | str | PaddingStrategy) -> PaddingStrategy:
        if padding is False:
            return PaddingStrategy.DO_NOT_PAD
        if padding is True:
            return PaddingStrategy.LONGEST
        try:
            return PaddingStrategy(padding)
        except ValueError as error:
            raise ValueError(
                f"padding must be True, False, 'longest', 'max_length' or 'do_not_pad', got {padding!r}."
            ) from error

    @staticmethod
    def _check_texts(text: Any) -> list[str]:
        texts = [text] if isinstance(text, str) else text
        if not isinstance(texts, (list, tuple)):
            raise ValueError(f"`text` must be a string or a list of strings, got {type(text).__name__}.")
        if len(texts) == 0:
            raise ValueError("`text` is an empty list.")
        for index, item in enumerate(texts):
            name = "text" if isinstance(text, str) else f"text[{index}]"
            if not isinstance(item, str):
                raise ValueError(f"{name}: a transcript must be a string, got {type(item).__name__}.")
            if not item.strip():
                raise ValueError(f"{name}: the transcript is empty or whitespace only ({item!r}).")
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as error:  # a lone surrogate (e.g. text decoded with errors="surrogateescape")
                raise ValueError(
                    f"{name}: the transcript is not valid Unicode text: {item[error.start]!r} at position "
                    f"{error.start} is a lone surrogate, which no tokenizer can encode ({item!r:.80})."
                ) from None
        return list(texts)

    @staticmethod
    def _as_audio_batch(audio: Any) -> list[Any]:
        audios = list(audio) if isinstance(audio, (list, tuple)) else [audio]
        if len(audios) == 0:
            raise ValueError("`audio` is an empty list.")
        return audios
