# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of the remote code a CMT checkpoint carries (`modeling_cmt.remote_code`) and of publishing it
(`modeling_cmt.hub.push_to_hub`): the flat modules, the explicit export into a folder, and the push -> pull round
trip through huggingface_hub's real client against the loopback Hub of `tests/hub_server.py`.

"Where cmt is not installed" is a subprocess run with `python -I` from a temporary directory, whose `sys.path` keeps
no entry holding a cmt package, whose import system refuses the three package names (in case cmt is installed in
site-packages) and which has no `datasets` or `evaluate` (training libraries a checkpoint must load without); it loads
a saved folder with `HF_HUB_OFFLINE=1`, then goes online to pull from the loopback Hub, which its `HF_ENDPOINT` names
(huggingface_hub reads the variable at import time). Inside this process, `client_endpoint` patches the same constants
instead.
"""

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from hub_server import LoopbackHub, client_endpoint
from huggingface_hub import ModelCard, snapshot_download
from testing_utils import TINY_CORPUS, tiny_cmt_config, write_wav_file
from transformers import AutoModelForSequenceClassification, AutoProcessor, pipeline
from transformers.dynamic_module_utils import get_imports, get_relative_imports

from modeling_cmt import CMTForPreTraining, CMTForSequenceClassification
from modeling_cmt.hub import push_to_hub
from modeling_cmt.remote_code import (
    CMT_PACKAGES,
    FLAT_MODULE_HEADER,
    REMOTE_TASK_PREFIX,
    export_remote_code,
    flatten_module_source,
    main,
    remote_code_auto_map,
    remote_code_requirements,
    remote_code_sources,
    save_pretrained_with_remote_code,
)
from processing_cmt import PIPELINE_TASK, CMTProcessor


REPO_ROOT = Path(__file__).resolve().parents[1]
LABELS = ["angry", "happy", "neutral", "sad"]
REPO_ID = "cmt-org/cmt-tiny-ser"
TEXT = TINY_CORPUS[1]
ATOL = 1e-5
# what loading and inference need, and nothing else (no collators, metrics or data builders)
FLAT_MODULES = {"configuration_cmt.py", "modeling_cmt.py", "processing_cmt.py", "pipeline_cmt.py", "audio_utils.py"}
TRAINING_LIBRARIES = ("datasets", "evaluate")


@pytest.fixture(scope="module")
def classifier(tiny_tokenizer):
    torch.manual_seed(0)
    label_kwargs = {"id2label": dict(enumerate(LABELS)), "label2id": {label: i for i, label in enumerate(LABELS)}}
    return CMTForSequenceClassification(tiny_cmt_config(tiny_tokenizer, **label_kwargs)).eval()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return write_wav_file(tmp_path_factory.mktemp("clip") / "clip.wav", seconds=0.3, seed=3)


@pytest.fixture(scope="module")
def expected(classifier, tiny_processor, clip):
    """What the installed code computes on one clip: the processor batch, the logits and the pipeline's scores."""
    batch = tiny_processor(text=[TEXT], audio=[str(clip)], return_tensors="pt")
    with torch.no_grad():
        logits = classifier(**batch).logits
    pipe = pipeline(PIPELINE_TASK, model=classifier, processor=tiny_processor, device="cpu")
    scores = {entry["label"]: entry["score"] for entry in pipe(str(clip), text=TEXT, top_k=None)}
    return {"batch": dict(batch), "logits": logits, "scores": scores}


@pytest.fixture(scope="module")
def saved_folder(classifier, tiny_processor, tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved") / "cmt-tiny-ser"
    save_pretrained_with_remote_code(classifier, folder, processor=tiny_processor)
    return folder


@pytest.fixture(scope="module")
def hub():
    with LoopbackHub() as server:
        yield server


@pytest.fixture(scope="module")
def pushed(hub, classifier, tiny_processor):
    """The classifier and its processor pushed to the loopback Hub, as a user would."""
    with client_endpoint(hub.url):
        push_to_hub(classifier, REPO_ID, processor=tiny_processor, token=hub.token)
    return REPO_ID


# --- the flat modules ------------------------------------------------------------------------------------------------


def test_flat_modules_are_what_inference_needs_and_import_only_installed_libraries(tmp_path):
    sources = remote_code_sources()
    assert set(sources) == FLAT_MODULES
    assert set(remote_code_sources(include_pipeline=False)) == FLAT_MODULES - {"pipeline_cmt.py"}
    for name, source in sources.items():
        (tmp_path / name).write_text(source)
    for name in sources:
        # transformers' own scanners: the libraries `check_imports` will require, the siblings it will copy
        libraries = set(get_imports(tmp_path / name))
        assert not libraries & set(CMT_PACKAGES), (name, libraries)
        assert not libraries & set(TRAINING_LIBRARIES), (name, libraries)
        for sibling in get_relative_imports(tmp_path / name):
            assert f"{sibling}.py" in sources, (name, sibling)
    assert "from .configuration_cmt import CMTConfig" in sources["modeling_cmt.py"]
    assert sources["modeling_cmt.py"].startswith("# Flat copy of `modeling_cmt.modeling_cmt`")
    # a module without cmt imports is copied byte for byte under the header that marks it as an export's file
    import processing_cmt.audio_utils as audio_module

    source = Path(audio_module.__file__).read_text(encoding="utf-8")
    assert sources["audio_utils.py"] == FLAT_MODULE_HEADER.format(module="processing_cmt.audio_utils") + source
    requirements = remote_code_requirements()
    assert {"torch", "transformers", "librosa", "soundfile"} <= set(requirements)
    assert not set(requirements) & set(TRAINING_LIBRARIES)


def test_flatten_imports_reexported_names_from_their_defining_module():
    source = textwrap.dedent(
        """\
        from processing_cmt import CMTProcessor as Processor, load_audio
        from configuration_cmt import CMT_PRESETS
        from configuration_cmt.configuration_cmt import audio_frame_lengths


        def helper():
            from modeling_cmt import CMTModel  # a lazy import keeps its indentation

            return CMTModel


        try:
            from modeling_cmt.model_card import create_model_card  # optional: transformers ignores try blocks
        except ImportError:
            create_model_card = None
        """
    )
    flat, dependencies = flatten_module_source("modeling_cmt.example", source)
    lines = flat.splitlines()
    assert "from .processing_cmt import CMTProcessor as Processor" in lines
    assert "from .audio_utils import load_audio" in lines
    assert "from .configuration_cmt import CMT_PRESETS" in lines  # a constant: found by its definition
    assert "from .configuration_cmt import audio_frame_lengths" in lines
    assert "    from .modeling_cmt import CMTModel" in lines
    assert (
        "    from modeling_cmt.model_card import create_model_card  # optional: transformers ignores try blocks"
        in lines
    )
    ast.parse(flat)
    assert set(dependencies) == {
        "processing_cmt.processing_cmt",
        "processing_cmt.audio_utils",
        "configuration_cmt.configuration_cmt",
        "modeling_cmt.modeling_cmt",
    }


@pytest.mark.parametrize(
    "source, message",
    [
        ("import modeling_cmt\n", "binds a cmt package as a module"),
        ("from . import audio_utils\n", "only `from .module import name`"),
        ("from .sub.module import name\n", "only `from .module import name`"),
        ("from configuration_cmt import *\n", "cannot be flattened"),
        ("x = 1; from configuration_cmt import CMTConfig\n", "on lines of its own"),
        ("from processing_cmt import no_such_name\n", "has no attribute 'no_such_name'"),
    ],
)
def test_flatten_rejects_imports_without_a_flat_equivalent(source, message):
    with pytest.raises(ValueError, match=r"example\.py:1: .*" + message.replace("(", r"\(").replace("*", r"\*")):
        flatten_module_source("processing_cmt.example", source, path="example.py")


def test_the_model_package_imports_neither_the_hub_modules_nor_training_libraries():
    """One-way dependencies: the Hub modules import the model, never the reverse; `import modeling_cmt` registers the
    Auto classes and loads nothing for publishing or training."""
    code = (
        "import sys, modeling_cmt; "
        "print([m for m in ('modeling_cmt.remote_code', 'modeling_cmt.model_card', 'modeling_cmt.hub', "
        f"*{TRAINING_LIBRARIES!r}) if m in sys.modules])"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert process.returncode == 0, process.stderr[-4000:]
    assert process.stdout.strip() == "[]"


# --- exporting into a folder -----------------------------------------------------------------------------------------


def test_plain_save_pretrained_writes_no_code(classifier, tiny_processor, tmp_path):
    classifier.save_pretrained(tmp_path)
    tiny_processor.save_pretrained(tmp_path)
    assert list(tmp_path.glob("*.py")) == []
    config = json.loads((tmp_path / "config.json").read_text())
    assert "auto_map" not in config and "custom_pipelines" not in config


def test_save_pretrained_with_remote_code_writes_the_code_and_auto_map(saved_folder):
    assert {path.name for path in saved_folder.glob("*.py")} == FLAT_MODULES
    for name, source in remote_code_sources().items():
        assert (saved_folder / name).read_text() == source, name
    config = json.loads((saved_folder / "config.json").read_text())
    assert config["auto_map"] == remote_code_auto_map()
    assert config["auto_map"]["AutoModelForSequenceClassification"] == "modeling_cmt.CMTForSequenceClassification"
    # under another key than the registered task, so that the installed package's pipeline keeps loading the folder
    assert config["custom_pipelines"] == {
        f"{REMOTE_TASK_PREFIX}{PIPELINE_TASK}": {
            "impl": "pipeline_cmt.AudioTextSentimentPipeline",
            "pt": ["AutoModelForSequenceClassification"],
            "type": "multimodal",
        }
    }
    processor_config = json.loads((saved_folder / "processor_config.json").read_text())
    assert processor_config["auto_map"] == {"AutoProcessor": remote_code_auto_map()["AutoProcessor"]}


def test_a_checkpoint_without_task_head_ships_no_pipeline(tiny_tokenizer, tmp_path):
    save_pretrained_with_remote_code(CMTForPreTraining(tiny_cmt_config(tiny_tokenizer)), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"] == remote_code_auto_map() and "custom_pipelines" not in config
    assert {path.name for path in tmp_path.glob("*.py")} == FLAT_MODULES - {"pipeline_cmt.py"}


def test_export_into_a_saved_folder_from_the_command_line(classifier, tiny_processor, saved_folder, tmp_path, capsys):
    classifier.save_pretrained(tmp_path)
    tiny_processor.save_pretrained(tmp_path)
    main(["--model", str(tmp_path)])
    assert "pipeline_cmt.py" in capsys.readouterr().out
    for name in ("config.json", "processor_config.json", *FLAT_MODULES):
        assert (tmp_path / name).read_text() == (saved_folder / name).read_text(), name
    # again: the export recognises its own files and rewrites them
    assert {path.name for path in export_remote_code(tmp_path)} == FLAT_MODULES


@pytest.mark.parametrize("how", ["export_remote_code", "save_pretrained_with_remote_code"])
def test_export_never_replaces_a_users_module(classifier, tmp_path, how):
    own_file = tmp_path / "audio_utils.py"
    own_file.write_text("def my_helper():\n    return 42\n")
    if how == "export_remote_code":
        classifier.save_pretrained(tmp_path)
    before = sorted(path.name for path in tmp_path.iterdir())
    with pytest.raises(ValueError, match=r"audio_utils\.py exists and is not a flat module written by"):
        if how == "export_remote_code":
            export_remote_code(tmp_path)
        else:
            save_pretrained_with_remote_code(classifier, tmp_path)
    assert own_file.read_text() == "def my_helper():\n    return 42\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == before  # refused before writing anything


def test_export_needs_a_saved_cmt_checkpoint(tmp_path):
    with pytest.raises(ValueError, match="has no config.json: save the model there first"):
        export_remote_code(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ValueError, match="is a 'bert' config, not a CMT"):
        export_remote_code(tmp_path)


def test_installed_package_still_loads_the_folder_with_its_own_code(saved_folder, expected, clip):
    model = AutoModelForSequenceClassification.from_pretrained(saved_folder).eval()
    assert type(model) is CMTForSequenceClassification
    processor = AutoProcessor.from_pretrained(saved_folder)
    assert type(processor) is CMTProcessor
    batch = processor(text=[TEXT], audio=[str(clip)], return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, expected["logits"], atol=ATOL, rtol=0)
    # no trust_remote_code needed: the folder's custom pipeline key is not the registered task name
    pipe = pipeline(PIPELINE_TASK, model=str(saved_folder), device="cpu")
    assert type(pipe).__module__ == "processing_cmt.pipeline_cmt"
    scores = {entry["label"]: entry["score"] for entry in pipe(str(clip), text=TEXT, top_k=None)}
    assert scores == pytest.approx(expected["scores"], abs=ATOL)


# --- push -> pull through the loopback Hub ---------------------------------------------------------------------------


def test_push_uploads_weights_by_lfs_code_card_and_processor(hub, pushed):
    files = hub.files(pushed)
    assert {name for name in files if name.endswith(".py")} == FLAT_MODULES
    assert {"config.json", "model.safetensors", "README.md"} <= set(files)
    assert {"processor_config.json", "tokenizer.json", "tokenizer_config.json"} <= set(files)
    assert files["model.safetensors"].lfs and not files["config.json"].lfs
    assert any(method == "PUT" and path.startswith("/lfs-objects/") for method, path in hub.requests)
    assert hub.commit_messages(pushed)[1:] == ["Upload CMTForSequenceClassification and CMTProcessor"]
    card = ModelCard(files["README.md"].content.decode())
    assert card.data.pipeline_tag == "audio-classification" and "custom_code" in card.data.tags
    assert f'pipeline(model="{pushed}", trust_remote_code=True)' in card.text
    assert hub.unknown_requests == []


def test_pull_into_a_fresh_cache_gives_the_same_outputs(hub, pushed, expected, clip, tmp_path):
    with client_endpoint(hub.url):
        model = AutoModelForSequenceClassification.from_pretrained(pushed, cache_dir=tmp_path / "a").eval()
        processor = AutoProcessor.from_pretrained(pushed, cache_dir=tmp_path / "a")
        snapshot = snapshot_download(pushed, cache_dir=tmp_path / "b")
        pipe = pipeline(PIPELINE_TASK, model=pushed, device="cpu", model_kwargs={"cache_dir": tmp_path / "c"})
    assert type(model) is CMTForSequenceClassification and type(processor) is CMTProcessor
    batch = processor(text=[TEXT], audio=[str(clip)], return_tensors="pt")
    for key, value in expected["batch"].items():
        torch.testing.assert_close(batch[key], value)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, expected["logits"], atol=ATOL, rtol=0)
    assert sorted(os.listdir(snapshot)) == sorted(hub.files(pushed))
    scores = {entry["label"]: entry["score"] for entry in pipe(str(clip), text=TEXT, top_k=None)}
    assert scores == pytest.approx(expected["scores"], abs=ATOL)
    assert hub.unknown_requests == []


# --- where cmt is not installed --------------------------------------------------------------------------------------

CLEAN_ENVIRONMENT_SCRIPT = r"""
import importlib
import importlib.abc
import json
import os
import site
import sys
import traceback

PACKAGES = ("configuration_cmt", "modeling_cmt", "processing_cmt")
TRAINING_LIBRARIES = ("datasets", "evaluate")

# cmt must not be importable: drop the sys.path entries that hold it (a checkout), and refuse it where it is installed
# in site-packages, which must stay for torch and transformers (CI installs cmt there)
SITE_DIRS = set(site.getsitepackages() + [site.getusersitepackages()])
sys.path[:] = [
    entry
    for entry in sys.path
    if entry in SITE_DIRS or not any(os.path.isdir(os.path.join(entry or ".", p)) for p in PACKAGES)
]


class RefuseCMT(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in PACKAGES:
            raise ModuleNotFoundError(f"No module named {name!r} (cmt is refused in this environment)", name=name)
        return None


sys.meta_path.insert(0, RefuseCMT())
# nor the training libraries: importing them raises ImportError, and `importlib.util.find_spec` (how transformers
# checks for optional libraries) answers None, as where they are not installed
for name in TRAINING_LIBRARIES:
    sys.modules[name] = None
args = json.loads(open(sys.argv[1]).read())
results = {}


def check(name, function):
    try:
        results[name] = {"ok": True, **function()}
    except Exception:
        results[name] = {"ok": False, "error": traceback.format_exc()}


def importable(names):
    found = []
    for name in names:
        try:
            importlib.import_module(name)
            found.append(name)
        except ImportError:
            pass
    return found


check("not_importable", lambda: {"importable": importable(PACKAGES + TRAINING_LIBRARIES)})

import torch
from huggingface_hub import constants
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoProcessor, pipeline

expected = torch.load(args["expected"])


def load(source):
    config = AutoConfig.from_pretrained(source, trust_remote_code=True)
    model = AutoModelForSequenceClassification.from_pretrained(source, trust_remote_code=True).eval()
    base = AutoModel.from_pretrained(source, trust_remote_code=True)
    processor = AutoProcessor.from_pretrained(source, trust_remote_code=True)
    batch = processor(text=[args["text"]], audio=[args["clip"]], return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    return {
        "modules": [type(item).__module__ for item in (config, model, base, processor)],
        "classes": [type(item).__name__ for item in (config, model, base, processor)],
        "feature_diff": max(float((batch[k].float() - v.float()).abs().max()) for k, v in expected["batch"].items()),
        "logit_diff": float((logits - expected["logits"]).abs().max()),
    }


def run_pipeline(source):
    pipe = pipeline(model=source, trust_remote_code=True, device="cpu")
    scores = {entry["label"]: entry["score"] for entry in pipe(args["clip"], text=args["text"], top_k=None)}
    return {"module": type(pipe).__module__, "scores": scores}


check("folder", lambda: load(args["folder"]))
check("folder_pipeline", lambda: run_pipeline(args["folder"]))
# HF_ENDPOINT, read when huggingface_hub was imported, names the loopback Hub: go online for it
constants.HF_HUB_OFFLINE = False
check("hub", lambda: load(args["repo_id"]))
check("hub_pipeline", lambda: run_pipeline(args["repo_id"]))
results["loaded_training_libraries"] = [name for name in TRAINING_LIBRARIES if sys.modules.get(name) is not None]
with open(args["output"], "w") as file:
    json.dump(results, file)
"""


@pytest.fixture(scope="module")
def clean_environment(hub, pushed, saved_folder, expected, clip, tmp_path_factory):
    """Runs CLEAN_ENVIRONMENT_SCRIPT once; its per-check results."""
    work = tmp_path_factory.mktemp("clean_environment")
    torch.save({"batch": expected["batch"], "logits": expected["logits"]}, work / "expected.pt")
    arguments = {
        "folder": str(saved_folder),
        "repo_id": pushed,
        "clip": str(clip),
        "text": TEXT,
        "expected": str(work / "expected.pt"),
        "output": str(work / "results.json"),
    }
    (work / "arguments.json").write_text(json.dumps(arguments))
    (work / "script.py").write_text(CLEAN_ENVIRONMENT_SCRIPT)
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("HF_", "TRANSFORMERS_", "PYTHON"))
    }
    environment.update(
        HF_HOME=str(work / "hf_home"),  # fresh caches: Hub downloads and the transformers_modules copies
        HF_HUB_OFFLINE="1",
        HF_ENDPOINT=hub.url,
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
    )
    process = subprocess.run(
        [sys.executable, "-I", str(work / "script.py"), str(work / "arguments.json")],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert process.returncode == 0, process.stderr[-4000:]
    return json.loads((work / "results.json").read_text())


def assert_check(results, name):
    result = results[name]
    assert result["ok"], f"{name} failed where cmt is not installed:\n{result['error']}"
    return result


def test_clean_environment_has_neither_cmt_nor_training_libraries(clean_environment):
    assert assert_check(clean_environment, "not_importable")["importable"] == []
    assert clean_environment["loaded_training_libraries"] == []


@pytest.mark.parametrize("source", ["folder", "hub"])
def test_clean_environment_loads_config_models_and_processor(clean_environment, source):
    result = assert_check(clean_environment, source)
    assert result["classes"] == ["CMTConfig", "CMTForSequenceClassification", "CMTModel", "CMTProcessor"]
    assert all(module.startswith("transformers_modules.") for module in result["modules"]), result["modules"]
    assert result["feature_diff"] < ATOL and result["logit_diff"] < ATOL


@pytest.mark.parametrize("source", ["folder", "hub"])
def test_clean_environment_runs_the_pipeline(clean_environment, expected, source):
    result = assert_check(clean_environment, f"{source}_pipeline")
    assert result["module"].startswith("transformers_modules.") and result["module"].endswith(".pipeline_cmt")
    assert result["scores"] == pytest.approx(expected["scores"], abs=ATOL)
