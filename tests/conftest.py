# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Shared, offline-built fixtures for the cmt tests.

Nothing here touches the Hub: the tokenizer is a byte-level BPE trained in a second on a few dozen sentences, the
feature extractor is constructed from its arguments and audio is synthesised.

Tiny tokenizer ids (RoBERTa's order): `<s>`=0 (bos/cls), `<pad>`=1, `</s>`=2 (eos/sep), `<unk>`=3, `<mask>`=4; the
learned byte-level vocabulary follows (500 entries in all, `TINY_VOCAB_SIZE`).
"""

import os


# Before anything imports huggingface_hub: the tests must never reach the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402
from testing_utils import TINY_CORPUS, TINY_SPECIAL_TOKENS, TINY_VOCAB_SIZE, write_wav_file  # noqa: E402


# The test tiers (pyproject.toml): whole modules that run the scripts as a user types them, and the fixtures that
# take a test end to end; `make test-fast` runs the rest, the library's unit tests.
SCRIPT_MODULES = {"test_run_finetuning", "test_run_pretraining", "test_quickstart", "test_rehearse"}
E2E_MODULES = {"test_onnx", "test_demo"}  # ONNX export + ONNX Runtime; the demo in a real browser
E2E_FIXTURES = {"hub", "pushed", "clean_environment"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.module.__name__ in SCRIPT_MODULES or "_script" in item.name:
            item.add_marker(pytest.mark.script)
        if item.module.__name__ in E2E_MODULES or E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)
    if os.environ.get("RUN_SLOW", "0").lower() in ("1", "true", "yes"):
        return
    skip_slow = pytest.mark.skip(reason="slow test: set RUN_SLOW=1 to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """A RoBERTa-style byte-level BPE `RobertaTokenizerFast` trained offline (ids documented in the module docstring)."""
    from processing_cmt.tokenizer_training import train_roberta_tokenizer

    tokenizer = train_roberta_tokenizer(TINY_CORPUS, vocab_size=TINY_VOCAB_SIZE, model_max_length=128)
    ids = [tokenizer.convert_tokens_to_ids(token) for token in TINY_SPECIAL_TOKENS]
    assert ids == [0, 1, 2, 3, 4], ids
    return tokenizer


@pytest.fixture(scope="session")
def tiny_feature_extractor():
    """The feature extractor HuBERT-large uses (normalising, with an attention mask), built from its arguments."""
    from transformers import Wav2Vec2FeatureExtractor

    return Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True, return_attention_mask=True
    )


@pytest.fixture(scope="session")
def tiny_processor(tiny_tokenizer, tiny_feature_extractor):
    """A `CMTProcessor` joining the tiny tokenizer and the feature extractor."""
    from processing_cmt import CMTProcessor

    return CMTProcessor(feature_extractor=tiny_feature_extractor, tokenizer=tiny_tokenizer)


@pytest.fixture(scope="session")
def write_wav():
    """`write_wav(path, seconds=0.5, sampling_rate=16000, channels=1, seed=0, subtype=None, waveform=None) -> Path`."""
    return write_wav_file


@pytest.fixture
def wav_path(tmp_path):
    """A 0.5 s, 16 kHz mono synthetic WAV file."""
    return write_wav_file(tmp_path / "tone.wav")


@pytest.fixture(scope="session")
def tiny_backbones(tmp_path_factory, tiny_tokenizer, tiny_feature_extractor):
    """Tiny pretrained-backbone folders as `from_pretrained` reads them: `{"text": dir, "audio": dir}`, the text one a
    RoBERTa with the tiny tokenizer, the audio one a layer-norm HuBERT with its feature extractor."""
    import torch
    from testing_utils import CMTAudioModelTester, CMTTextModelTester
    from transformers import HubertModel, RobertaModel

    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("tiny_backbones")
    text_config = CMTTextModelTester(vocab_size=len(tiny_tokenizer)).get_config()
    text_config.max_position_embeddings = tiny_tokenizer.model_max_length + 2
    RobertaModel(text_config).save_pretrained(directory / "text")
    tiny_tokenizer.save_pretrained(directory / "text")
    HubertModel(CMTAudioModelTester().get_config()).save_pretrained(directory / "audio")
    tiny_feature_extractor.save_pretrained(directory / "audio")
    return {"text": directory / "text", "audio": directory / "audio"}
