"""cmt: the Cross-Modal Transformer for audio-text emotion and sentiment. Importing this package registers the CMT
config, models (and processor) with transformers' Auto classes."""

from transformers import AutoConfig, AutoModel, AutoModelForPreTraining, AutoModelForSequenceClassification

import processing_cmt  # noqa: F401  (registers CMTProcessor and the audio-text-sentiment pipeline; loads no training tool)
from configuration_cmt import CMT_PRESETS, CMTConfig

from .modeling_cmt import (
    CMTForPreTraining,
    CMTForPreTrainingOutput,
    CMTForSequenceClassification,
    CMTForSequenceRegression,
    CMTModel,
    CMTModelOutput,
    CMTPreTrainedModel,
    CMTSequenceClassifierOutput,
    load_pretrained_backbone,
    orthogonality_loss,
)
from .version import __version__


AutoConfig.register(CMTConfig.model_type, CMTConfig, exist_ok=True)
AutoModel.register(CMTConfig, CMTModel, exist_ok=True)
AutoModelForSequenceClassification.register(CMTConfig, CMTForSequenceClassification, exist_ok=True)
AutoModelForPreTraining.register(CMTConfig, CMTForPreTraining, exist_ok=True)

__all__ = [
    "__version__",
    "CMT_PRESETS",
    "CMTConfig",
    "CMTModelOutput",
    "CMTSequenceClassifierOutput",
    "CMTPreTrainedModel",
    "CMTModel",
    "CMTForSequenceClassification",
    "CMTForSequenceRegression",
    "CMTForPreTraining",
    "CMTForPreTrainingOutput",
    "orthogonality_loss",
    "load_pretrained_backbone",
]
