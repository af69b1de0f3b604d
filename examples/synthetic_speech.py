# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Real synthesized speech, offline: eSpeak NG through the `espeakng-loader` package (which ships libespeak-ng and its
data, so no system install or root is needed), and a small emotional speech + transcript corpus built with it.

The corpus carries emotion in both modalities, each only part of the time, so that a model must fuse them to do well:
the wording is emotional in some utterances and neutral boilerplate in the others; the prosody (pitch, pitch range,
rate) is emotional in some utterances and flat in the others, independently of the wording.
"""

import ctypes
import threading
from dataclasses import dataclass

import numpy as np


# espeak_AUDIO_OUTPUT, espeak_PARAMETER and espeak_POSITION_TYPE values from speak_lib.h
AUDIO_OUTPUT_SYNCHRONOUS = 2
RATE, VOLUME, PITCH, RANGE = 1, 2, 3, 4
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class EspeakSynthesizer:
    """Text to 16-bit speech with eSpeak NG, through its C API (`speak_lib.h`) with ctypes.

    Args:
        voice (`str`, *optional*, defaults to `"en-us"`): an eSpeak NG voice name.
    """

    _lock = threading.Lock()  # the library holds global state: one synthesis at a time

    def __init__(self, voice: str = "en-us"):
        try:
            import espeakng_loader
        except ImportError as error:
            raise ImportError("Speech synthesis needs `pip install espeakng-loader`.") from error
        self._lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self._lib.espeak_Initialize.restype = ctypes.c_int
        rate = self._lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0)
        if rate <= 0:
            raise RuntimeError(f"eSpeak NG failed to initialise (returned {rate}).")
        self.sampling_rate = rate
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"eSpeak NG has no voice {voice!r}.")
        self._chunks: list[np.ndarray] = []
        self._callback = SYNTH_CALLBACK(self._collect)  # kept alive as long as the synthesizer
        self._lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, wav, num_samples, events) -> int:
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).copy())
        return 0  # continue

    def synthesize(self, text: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50) -> np.ndarray:
        """Speaks `text`; returns float32 mono samples at `self.sampling_rate` (22.05 kHz).

        Args:
            text (`str`): what to say.
            rate (`int`, *optional*, defaults to 175): words per minute (80-450).
            pitch (`int`, *optional*, defaults to 50): base pitch, 0-100.
            pitch_range (`int`, *optional*, defaults to 50): pitch variation, 0 (monotone) to 100.
        """
        if not text.strip():
            raise ValueError("Cannot synthesize an empty text.")
        data = text.encode("utf-8") + b"\0"
        with self._lock:
            for parameter, value in ((RATE, rate), (PITCH, pitch), (RANGE, pitch_range)):
                self._lib.espeak_SetParameter(parameter, int(value), 0)
            self._chunks = []
            status = self._lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
            if status != 0:
                raise RuntimeError(f"eSpeak NG could not synthesize {text!r} (status {status}).")
            samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        if samples.size == 0:
            raise RuntimeError(f"eSpeak NG produced no audio for {text!r}.")
        return (samples.astype(np.float32) / 32768.0).clip(-1.0, 1.0)


EMOTIONS = ["angry", "happy", "neutral", "sad"]

# Wording that carries the emotion...
EMOTIONAL_TEXT = {
    "angry": [
        "I am furious, you never listen to me",
        "Get out of my way right now",
        "This is outrageous and I will not stand for it",
        "How dare you lie to me again",
        "Stop shouting, I have had enough of this",
        "You broke it, and you did it on purpose",
    ],
    "happy": [
        "This is the best day of my life",
        "I am so glad you came, thank you",
        "We won, I can hardly believe it",
        "What a wonderful surprise, I love it",
        "She said yes, we are getting married",
        "That was fantastic, let us do it again",
    ],
    "neutral": [
        "The meeting starts at ten in the morning",
        "Please put the files on the second shelf",
        "The train leaves from platform four",
        "I will send you the report tomorrow",
        "The store closes at six on weekdays",
        "Turn left at the next corner",
    ],
    "sad": [
        "I miss her so much, everything feels empty",
        "I lost my job and I do not know what to do",
        "Nobody came to the party, I was alone",
        "It is over, there is nothing left for me",
        "My old dog died this morning",
        "I tried so hard and still failed",
    ],
}
# ...and wording that does not: the same boilerplate for every class.
NEUTRAL_TEXT = [
    "I saw him at the station yesterday",
    "We talked about the plan for next week",
    "She told me about the new apartment",
    "They are coming back on Sunday",
    "It was about what I expected",
    "He called me after lunch",
    "The letter arrived this afternoon",
    "We are moving to a new office",
]

# Prosody that carries the emotion (eSpeak NG parameters: base pitch, pitch range, words per minute)...
EMOTIONAL_PROSODY = {
    "angry": {"pitch": 55, "pitch_range": 100, "rate": 260},
    "happy": {"pitch": 90, "pitch_range": 70, "rate": 200},
    "neutral": {"pitch": 50, "pitch_range": 30, "rate": 160},
    "sad": {"pitch": 10, "pitch_range": 0, "rate": 100},
}
# ...and prosody that does not.
FLAT_PROSODY = {"pitch": 50, "pitch_range": 30, "rate": 160}


@dataclass
class SyntheticUtterance:
    text: str
    label: str
    text_is_emotional: bool
    prosody_is_emotional: bool
    prosody: dict


def sample_emotional_utterances(
    num_utterances: int, seed: int = 0, p_emotional_text: float = 0.5, p_emotional_prosody: float = 0.7
) -> list[SyntheticUtterance]:
    """Draws utterances with balanced labels; each modality carries the label with its own probability, so a
    text-only model tops out near `p_t + (1 - p_t) / 4` accuracy, an audio-only one near `p_a + (1 - p_a) / 4`, and a
    model that fuses both near `1 - (1 - p_t)(1 - p_a) * 3 / 4`."""
    rng = np.random.default_rng(seed)
    utterances = []
    for index in range(num_utterances):
        label = EMOTIONS[index % len(EMOTIONS)]
        text_is_emotional = bool(rng.random() < p_emotional_text)
        prosody_is_emotional = bool(rng.random() < p_emotional_prosody)
        pool = EMOTIONAL_TEXT[label] if text_is_emotional else NEUTRAL_TEXT
        base = EMOTIONAL_PROSODY[label] if prosody_is_emotional else FLAT_PROSODY
        jitter = {"pitch": rng.integers(-5, 6), "pitch_range": rng.integers(-5, 6), "rate": rng.integers(-10, 11)}
        prosody = {key: int(np.clip(value + jitter[key], 0, 450)) for key, value in base.items()}
        utterances.append(
            SyntheticUtterance(str(rng.choice(pool)), label, text_is_emotional, prosody_is_emotional, prosody)
        )
    rng.shuffle(utterances)
    return utterances
