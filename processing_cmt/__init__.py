from transformers import AutoProcessor

from configuration_cmt import CMTConfig

from .audio_utils import load_audio, load_audio_segment
from .processing_cmt import DEFAULT_AUDIO_CHECKPOINT, DEFAULT_TEXT_CHECKPOINT, CMTProcessor


AutoProcessor.register(CMTConfig, CMTProcessor, exist_ok=True)

__all__ = [
    "CMTProcessor",
    "DEFAULT_AUDIO_CHECKPOINT",
    "DEFAULT_TEXT_CHECKPOINT",
    "load_audio",
    "load_audio_segment",
]
