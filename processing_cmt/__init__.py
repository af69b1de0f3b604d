"""Inputs and outputs of CMT: the processor, audio decoding and `pipeline("audio-text-sentiment")` (imported and
registered with transformers here), and the training tools (collators, codebook, corpus readers, metrics), which are
imported on first use: `from processing_cmt import load_iemocap` works, while `import processing_cmt` (and so
`import modeling_cmt`) loads neither datasets nor scikit-learn nor evaluate.
"""

import importlib
from typing import Any

from transformers import AutoModelForSequenceClassification, AutoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from configuration_cmt import CMTConfig

from .audio_utils import load_audio, load_audio_segment
from .pipeline_cmt import PIPELINE_TASK, AudioTextSentimentPipeline, sentiment_classes, sentiment_label
from .processing_cmt import DEFAULT_AUDIO_CHECKPOINT, DEFAULT_TEXT_CHECKPOINT, CMTProcessor, pad_cmt_features


AutoProcessor.register(CMTConfig, CMTProcessor, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline(
    PIPELINE_TASK,
    pipeline_class=AudioTextSentimentPipeline,
    pt_model=AutoModelForSequenceClassification,
    type="multimodal",
)

# The training tools: name -> the module that defines it, imported when the name is first asked for (PEP 562).
_TRAINING_TOOLS = {
    ".codebook": [
        "assign_codes",
        "fit_codebook",
        "label_audio_codes",
        "load_codebook",
        "save_codebook",
    ],
    ".codebook_provenance": ["backbone_fingerprint", "codebook_mismatches", "load_codebook_backbone"],
    ".frame_features": ["extract_frame_features", "mfcc_frame_features"],
    ".corpora": [
        "BuildReport",
        "IEMOCAP_EXCLUDED_LABELS",
        "IEMOCAP_LABEL_MAP",
        "IEMOCAP_LABEL_NAMES",
        "MOSEI_EMOTION_NAMES",
        "iemocap_validation_speaker",
        "load_iemocap",
        "load_librispeech",
        "load_mosei",
        "load_mosei_folds",
        "load_mosei_mmsa",
        "load_speech_text_corpus",
        "normalize_transcript",
    ],
    ".data_collator": [
        "DataCollatorForCMT",
        "DataCollatorForCMTPretraining",
        "compute_span_mask",
        "recover_unmasked_input_ids",
    ],
    ".evaluate_cmt": ["CMTMetric"],
    ".metrics": [
        "aggregate_results",
        "compute_sa_metrics",
        "compute_ser_metrics",
        "format_mean_std",
        "format_results",
        "sa_metrics",
        "ser_confusion_matrix",
        "ser_metrics",
    ],
    ".tokenizer_training": ["train_roberta_tokenizer"],
    # long recordings (`return_timeline=True`): not needed to register the pipeline, so loaded on first use too
    ".long_audio": ["SegmentationOptions", "open_recording", "segment_recording"],
    ".timeline": ["plot_timeline", "write_timeline", "write_timeline_csv", "write_timeline_json"],
}
_LAZY_NAMES = {name: module for module, names in _TRAINING_TOOLS.items() for name in names}


def __getattr__(name: str) -> Any:
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY_NAMES[name], __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_NAMES))


__all__ = [
    "AudioTextSentimentPipeline",
    "CMTProcessor",
    "DEFAULT_AUDIO_CHECKPOINT",
    "DEFAULT_TEXT_CHECKPOINT",
    "PIPELINE_TASK",
    "load_audio",
    "load_audio_segment",
    "pad_cmt_features",
    "sentiment_classes",
    "sentiment_label",
    *_LAZY_NAMES,
]
