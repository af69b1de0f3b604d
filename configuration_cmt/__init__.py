from .configuration_cmt import CMT_PRESETS, CMTConfig, audio_frame_lengths, audio_receptive_field


__all__ = ["CMTConfig", "CMT_PRESETS", "audio_frame_lengths", "audio_receptive_field"]
