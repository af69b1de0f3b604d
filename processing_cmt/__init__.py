from .audio_utils import load_audio, load_audio_segment


__all__ = ["load_audio", "load_audio_segment"]
