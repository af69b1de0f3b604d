# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The demo (`demo/app.py`) in a real browser: the app runs as a user starts it (`python demo/app.py --model DIR`) on
127.0.0.1 with a tiny CMT classifier and a tiny speech recognition model saved to a tmp folder, and headless Chromium
(Debian's, driven by playwright) uploads a WAV, types the transcript, presses Classify and reads the scores back from
the page. The expected scores are the pipeline's own, in this process, on the same file and transcript.

Needs `chromium` (apt) and `playwright` (the `test` extra). Where they are missing the browser tests fail saying what
to install; `CMT_SKIP_BROWSER_TESTS=1` skips them instead.
"""

import importlib.util
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from speech_fixtures import TALK_SENTENCES, write_talk
from testing_utils import TINY_CORPUS, save_tiny_ctc_asr, tiny_cmt_config, write_wav_file
from transformers import (
    pipeline,
)

from modeling_cmt import CMTForSequenceClassification


DEMO = Path(__file__).resolve().parents[1] / "demo"
LABELS = ["angry", "happy", "neutral", "sad"]
TRANSCRIPT = TINY_CORPUS[1]
ASR_TRANSCRIPT = "h"  # what the tiny ASR model hears in anything
SENTENCES = list(TALK_SENTENCES)


def load_demo_module(name: str):
    """`demo/<name>.py` as a module (demo/ is a Space folder, not a package)."""
    spec = importlib.util.spec_from_file_location(f"cmt_demo_{name}", DEMO / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


app = load_demo_module("app")
browser_helpers = load_demo_module("screenshot")


# --- the app's model and ASR model ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_tokenizer, tiny_processor):
    """A tiny CMT classifier with its processor, saved as a checkpoint folder. Its class biases are spread so that the
    four scores differ by several points (a wrong, stale or reordered label shows)."""
    torch.manual_seed(0)
    config = tiny_cmt_config(
        tiny_tokenizer, id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)}
    )
    model = CMTForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([0.2, 1.0, -0.6, 0.5]))
    directory = tmp_path_factory.mktemp("demo") / "model"
    model.save_pretrained(directory)
    tiny_processor.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def asr_dir(tmp_path_factory):
    """A tiny Wav2Vec2ForCTC speech recognition folder whose CTC head emits `ASR_TRANSCRIPT` on every frame (CTC
    collapses the repeats)."""
    return save_tiny_ctc_asr(tmp_path_factory.mktemp("demo") / "asr", ASR_TRANSCRIPT)


@pytest.fixture(scope="module")
def classifier(model_dir):
    """The pipeline on the same folder the app serves: the expected scores."""
    return pipeline("audio-text-sentiment", model=str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_wav_file(tmp_path_factory.mktemp("demo") / "hello.wav", seconds=0.6, seed=3)


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    """Three utterances of piper's neural voice with pauses of 1 s (8.5 s): a recording with three segments."""
    return write_talk(tmp_path_factory.mktemp("demo"))[0]


@pytest.fixture(scope="module")
def talk_timeline(classifier, talk, asr_dir):
    """The pipeline's own timeline of `talk` (segments by the VAD, each transcribed by the tiny ASR model)."""
    timeline = classifier(str(talk), return_timeline=True, asr_model=str(asr_dir))
    assert len(timeline["segments"]) == len(SENTENCES) and all(segment["label"] for segment in timeline["segments"])
    return timeline


# --- the browser ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if os.environ.get("CMT_SKIP_BROWSER_TESTS", "0").lower() in ("1", "true", "yes"):
        pytest.skip("CMT_SKIP_BROWSER_TESTS is set")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(f"playwright is not installed: {browser_helpers.INSTALL_HINT} (or set CMT_SKIP_BROWSER_TESTS=1).")
    try:
        browser_helpers.find_chromium()
    except FileNotFoundError as error:
        pytest.fail(f"{error} (or set CMT_SKIP_BROWSER_TESTS=1).")
    with sync_playwright() as playwright:
        browser = browser_helpers.launch_browser(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def app_url(browser, model_dir, asr_dir):
    with browser_helpers.serve_app(model_dir, asr_model=str(asr_dir)) as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    page = browser.new_page()
    page.set_default_timeout(30_000)
    browser_helpers.open_demo(page, app_url)
    yield page
    page.close()


def expected_scores(classifier, audio, **kwargs) -> dict[str, float]:
    return {entry["label"]: entry["score"] for entry in classifier(str(audio), top_k=None, **kwargs)}


def assert_page_shows(page, expected: dict[str, float]):
    shown = browser_helpers.read_scores(page, len(LABELS))
    assert sorted(shown) == sorted(LABELS)
    np.testing.assert_allclose([shown[label] for label in LABELS], [expected[label] for label in LABELS], atol=1e-6)
    best = max(expected, key=expected.get)
    assert page.locator('#scores [data-testid="label-output-value"]').inner_text() == best
    # What a person reads: the labels best first, each with its score in percent.
    rows = page.locator("#scores dl").all_inner_texts()
    ranked = sorted(expected, key=expected.get, reverse=True)
    assert [re.sub(r"\s+", " ", row).strip() for row in rows] == [
        f"{label} {round(100 * expected[label])}%" for label in ranked
    ]


# --- in the browser -------------------------------------------------------------------------------------------------


def test_upload_and_transcript_show_the_pipeline_scores(page, classifier, clip):
    from playwright.sync_api import expect

    expected = expected_scores(classifier, clip, text=TRANSCRIPT)
    assert len(set(np.round(list(expected.values()), 2))) == len(LABELS)  # distinct scores: order is checked
    browser_helpers.submit(page, clip, TRANSCRIPT)
    assert_page_shows(page, expected)
    expect(page.locator("#used-transcript textarea")).to_have_value(TRANSCRIPT)


def test_no_transcript_uses_the_asr_fallback(page, classifier, clip, asr_dir):
    from playwright.sync_api import expect

    expected = expected_scores(classifier, clip, asr_model=str(asr_dir))
    assert expected != expected_scores(classifier, clip, text=TRANSCRIPT)  # the transcript changes the scores
    browser_helpers.submit(page, clip, "")
    expect(page.locator("#used-transcript textarea")).to_have_value(ASR_TRANSCRIPT)
    assert_page_shows(page, expected)


def test_a_long_recording_shows_its_timeline(page, talk, talk_timeline):
    expected, segments = talk_timeline, talk_timeline["segments"]
    browser_helpers.submit(page, talk, "", timeline=True)
    # the scores of the whole recording: each label's probability, time-weighted over the segments
    assert_page_shows(page, expected["summary"]["mean_scores"])
    image = page.locator("#timeline img")
    image.wait_for()
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image.element_handle())
    assert image.evaluate("image => image.naturalWidth") > 600  # the PNG plot, loaded
    lines = page.locator("#used-transcript textarea").input_value().splitlines()
    assert len(lines) == len(segments)
    for line, segment in zip(lines, segments):
        assert line.endswith(f"{segment['label']}  {segment['text']}"), line
    files = re.sub(r"\s+(?=\.)", "", page.locator("#timeline-files").inner_text())  # name and extension apart
    assert "talk.timeline.json" in files and "talk.timeline.csv" in files, files


def test_unreadable_file_shows_a_readable_error(page, tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"this is not audio " * 64)
    browser_helpers.submit(page, broken, TRANSCRIPT)
    message = browser_helpers.read_error(page)
    assert "broken.wav" in message and "cannot decode audio file" in message, message
    assert "/tmp/" not in message  # gradio's temporary path is shortened to the name the user knows
    assert page.locator("#scores meter").count() == 0


def test_truncated_wav_shows_a_readable_error(page, tmp_path, clip):
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])  # the header promises twice the samples
    browser_helpers.submit(page, truncated, TRANSCRIPT)
    message = browser_helpers.read_error(page)
    assert "cut.wav" in message and "truncated" in message, message


def test_no_audio_shows_an_error(page):
    browser_helpers.submit(page, None, TRANSCRIPT)
    assert "No audio" in browser_helpers.read_error(page)


# --- the app's logic, without a browser -----------------------------------------------------------------------------


def test_model_resolution_order_and_the_missing_quickstart_message(monkeypatch, tmp_path):
    monkeypatch.setattr(app, "SPACE_MODEL", tmp_path / "no-space-model")
    monkeypatch.setattr(app, "QUICKSTART_MODEL", tmp_path / "runs" / "quickstart" / "finetuned-CMT")
    monkeypatch.delenv("CMT_MODEL", raising=False)
    with pytest.raises(FileNotFoundError, match=r"finetuned-CMT does not exist\. Run `make quickstart`"):
        app.resolve_model()
    app.QUICKSTART_MODEL.mkdir(parents=True)
    assert app.resolve_model() == str(app.QUICKSTART_MODEL)
    app.SPACE_MODEL.mkdir()
    assert app.resolve_model() == str(app.SPACE_MODEL)
    monkeypatch.setenv("CMT_MODEL", "org/from-env")
    assert app.resolve_model() == "org/from-env"
    assert app.resolve_model("org/from-argument") == "org/from-argument"


def test_asr_model_option(monkeypatch):
    monkeypatch.delenv("CMT_ASR_MODEL", raising=False)
    assert app.resolve_asr_model() == app.DEFAULT_ASR_MODEL
    assert app.resolve_asr_model("none") is None
    monkeypatch.setenv("CMT_ASR_MODEL", "None")
    assert app.resolve_asr_model() is None


def test_load_errors_name_the_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing/model/dir"):
        app.load_classifier(str(tmp_path / "missing" / "model" / "dir"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError, match=r"Could not load the CMT model .*empty"):
        app.load_classifier(str(tmp_path / "empty"))


def test_long_recordings_get_a_timeline_without_asking(classifier, talk, talk_timeline, clip, asr_dir):
    demo = app.Demo(classifier, asr_model=str(asr_dir), timeline_seconds=5.0)  # talk.wav lasts 8.5 s
    scores, transcript, png, files = demo.predict(str(talk), "")
    expected = talk_timeline
    assert scores == expected["summary"]["mean_scores"]
    assert len(transcript.splitlines()) == len(expected["segments"])
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and [Path(f).suffix for f in files] == [".json", ".csv"]
    scores, _, png, files = demo.predict(str(clip), TRANSCRIPT)  # 0.6 s: one utterance
    assert png is None and files is None and scores == expected_scores(classifier, clip, text=TRANSCRIPT)


def test_predict_errors_without_a_browser(classifier, clip, tmp_path):
    import gradio as gr

    without_asr = app.Demo(classifier, asr_model=None)
    with pytest.raises(gr.Error, match="No transcript: type what is said"):
        without_asr.predict(str(clip), "   ")
    missing_asr = app.Demo(classifier, asr_model=str(tmp_path / "no-asr-here"))
    with pytest.raises(gr.Error, match=r"no-asr-here.* cannot be loaded: as a folder it does not exist"):
        missing_asr.predict(str(clip), "")
    short = write_wav_file(tmp_path / "short.wav", seconds=0.001)
    with pytest.raises(gr.Error, match=r"short\.wav: the audio is too short"):
        without_asr.predict(str(short), TRANSCRIPT)


def test_prepare_space_ships_the_app_packages_and_model(model_dir, tmp_path, monkeypatch):
    space = load_demo_module("prepare_space").prepare_space(tmp_path / "space", model_dir)
    front_matter = (space / "README.md").read_text().split("---")[1]
    assert re.search(r"^sdk: gradio$", front_matter, re.M) and re.search(r"^app_file: app\.py$", front_matter, re.M)
    for package in ("configuration_cmt", "modeling_cmt", "processing_cmt"):
        assert (space / package / "__init__.py").is_file()
    assert (space / "model" / "config.json").is_file() and (space / "requirements.txt").is_file()
    # The Space's app serves the model it ships when no CMT_MODEL is set.
    monkeypatch.delenv("CMT_MODEL", raising=False)
    spec = importlib.util.spec_from_file_location("cmt_space_app", space / "app.py")
    space_app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(space_app)
    assert space_app.resolve_model() == str(space / "model")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        load_demo_module("prepare_space").prepare_space(space)


def test_a_regression_checkpoint_shows_its_sentiment_score(tiny_tokenizer, tiny_processor, clip):
    from modeling_cmt import CMTForSequenceRegression

    torch.manual_seed(1)
    model = CMTForSequenceRegression(tiny_cmt_config(tiny_tokenizer, num_labels=1)).eval()
    scorer = pipeline("audio-text-sentiment", model=model, processor=tiny_processor, device="cpu")
    demo = app.Demo(scorer, asr_model=None)
    assert demo.label_names == ["negative", "neutral", "positive"]
    expected = scorer(str(clip), text=TRANSCRIPT)
    shown, transcript, png, _ = demo.predict(str(clip), TRANSCRIPT)
    assert shown == f"{expected['label']} ({expected['score']:+.2f} on [-3, 3])" and transcript == TRANSCRIPT
    assert png is None
