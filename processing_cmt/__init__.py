from transformers import AutoModelForSequenceClassification, AutoProcessor
from transformers.pipelines import PIPELINE_REGISTRY

from configuration_cmt import CMTConfig

from .audio_utils import load_audio, load_audio_segment
from .codebook import (
    assign_codes,
    extract_frame_features,
    fit_codebook,
    label_audio_codes,
    load_codebook,
    save_codebook,
)
from .data_collator import (
    DataCollatorForCMT,
    DataCollatorForCMTPretraining,
    compute_span_mask,
    pad_cmt_features,
    recover_unmasked_input_ids,
)
from .datasets_cmt import (
    IEMOCAP_EXCLUDED_LABELS,
    IEMOCAP_LABEL_MAP,
    IEMOCAP_LABEL_NAMES,
    MOSEI_EMOTION_NAMES,
    BuildReport,
    iemocap_validation_speaker,
    load_iemocap,
    load_librispeech,
    load_mosei,
    load_mosei_folds,
    load_mosei_mmsa,
    load_speech_text_corpus,
    normalize_transcript,
)
from .metrics import (
    aggregate_results,
    compute_sa_metrics,
    compute_ser_metrics,
    format_mean_std,
    format_results,
    sa_metrics,
    sentiment_classes,
    ser_confusion_matrix,
    ser_metrics,
)
from .pipeline_cmt import PIPELINE_TASK, AudioTextSentimentPipeline, sentiment_label
from .processing_cmt import DEFAULT_AUDIO_CHECKPOINT, DEFAULT_TEXT_CHECKPOINT, CMTProcessor
from .tokenizer_training import train_roberta_tokenizer


AutoProcessor.register(CMTConfig, CMTProcessor, exist_ok=True)
PIPELINE_REGISTRY.register_pipeline(
    PIPELINE_TASK,
    pipeline_class=AudioTextSentimentPipeline,
    pt_model=AutoModelForSequenceClassification,
    type="multimodal",
)

__all__ = [
    "AudioTextSentimentPipeline",
    "BuildReport",
    "CMTProcessor",
    "DEFAULT_AUDIO_CHECKPOINT",
    "DEFAULT_TEXT_CHECKPOINT",
    "DataCollatorForCMT",
    "DataCollatorForCMTPretraining",
    "IEMOCAP_EXCLUDED_LABELS",
    "IEMOCAP_LABEL_MAP",
    "IEMOCAP_LABEL_NAMES",
    "MOSEI_EMOTION_NAMES",
    "PIPELINE_TASK",
    "aggregate_results",
    "assign_codes",
    "compute_sa_metrics",
    "compute_ser_metrics",
    "compute_span_mask",
    "extract_frame_features",
    "fit_codebook",
    "format_mean_std",
    "format_results",
    "iemocap_validation_speaker",
    "label_audio_codes",
    "load_audio",
    "load_audio_segment",
    "load_codebook",
    "load_iemocap",
    "load_librispeech",
    "load_mosei",
    "load_mosei_folds",
    "load_mosei_mmsa",
    "load_speech_text_corpus",
    "normalize_transcript",
    "pad_cmt_features",
    "recover_unmasked_input_ids",
    "sa_metrics",
    "save_codebook",
    "sentiment_classes",
    "sentiment_label",
    "ser_confusion_matrix",
    "ser_metrics",
    "train_roberta_tokenizer",
]
