# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of Hub publishing (`modeling_cmt.hub_cmt`): the flat remote code a checkpoint carries, model cards, and the
push -> pull round trip through huggingface_hub's real client against the loopback Hub of `tests/hub_server.py`.

"Where cmt is not installed" is a subprocess run with `python -I` from a temporary directory, whose `sys.path` keeps
no entry holding a cmt package and whose import system refuses the three package names (in case cmt is installed in
site-packages); it loads a saved folder with `HF_HUB_OFFLINE=1`, then goes online to pull from the loopback Hub, which
its `HF_ENDPOINT` names (huggingface_hub reads the variable at import time). Inside this process, `client_endpoint`
patches the same constants instead.
"""

import ast
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import yaml
from hub_server import LoopbackHub, client_endpoint
from huggingface_hub import HfApi, ModelCard, snapshot_download
from testing_utils import TINY_CORPUS, CMTModelTester, CMTTextModelTester, write_wav_file
from transformers import AutoModelForSequenceClassification, AutoProcessor, pipeline
from transformers.dynamic_module_utils import get_imports, get_relative_imports

from modeling_cmt import CMTConfig, CMTForPreTraining, CMTForSequenceClassification, CMTForSequenceRegression
from modeling_cmt.hub_cmt import (
    CMT_PACKAGES,
    MODEL_CARD_VARIANTS,
    REMOTE_TASK_PREFIX,
    create_model_card,
    flatten_module_source,
    model_card_variant,
    remote_code_auto_map,
    remote_code_requirements,
    remote_code_sources,
)
from processing_cmt import PIPELINE_TASK, CMTProcessor, aggregate_results, sa_metrics, ser_metrics


LABELS = ["angry", "happy", "neutral", "sad"]
REPO_ID = "cmt-org/cmt-tiny-ser"
TEXT = TINY_CORPUS[1]
ATOL = 1e-5


def tiny_config(tokenizer, **kwargs) -> CMTConfig:
    tester = CMTModelTester()
    tester.text_tester = CMTTextModelTester(vocab_size=len(tokenizer))
    config = tester.get_config(**kwargs)
    config.text_config.max_position_embeddings = tokenizer.model_max_length + 2
    return config


def label_kwargs():
    return {"id2label": dict(enumerate(LABELS)), "label2id": {label: i for i, label in enumerate(LABELS)}}


@pytest.fixture(scope="module")
def classifier(tiny_tokenizer):
    torch.manual_seed(0)
    return CMTForSequenceClassification(tiny_config(tiny_tokenizer, **label_kwargs())).eval()


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
    classifier.save_pretrained(folder)
    tiny_processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def hub():
    with LoopbackHub() as server:
        yield server


@pytest.fixture(scope="module")
def pushed(hub, classifier, tiny_processor):
    """The classifier and its processor pushed to the loopback Hub, as a user would."""
    with client_endpoint(hub.url):
        classifier.push_to_hub(REPO_ID, token=hub.token)
        tiny_processor.push_to_hub(REPO_ID, token=hub.token)
    return REPO_ID


# --- the flat modules ------------------------------------------------------------------------------------------------


def test_flat_modules_import_only_installed_libraries_and_each_other(tmp_path):
    sources = remote_code_sources()
    expected_files = {"configuration_cmt.py", "modeling_cmt.py", "processing_cmt.py", "audio_utils.py"}
    assert expected_files | {"pipeline_cmt.py"} <= set(sources)
    for name, source in sources.items():
        (tmp_path / name).write_text(source)
    for name in sources:
        # transformers' own scanners: the libraries `check_imports` will require, the siblings it will copy
        libraries = set(get_imports(tmp_path / name))
        assert not libraries & set(CMT_PACKAGES), (name, libraries)
        for sibling in get_relative_imports(tmp_path / name):
            assert f"{sibling}.py" in sources, (name, sibling)
    assert "from .configuration_cmt import CMTConfig" in sources["modeling_cmt.py"]
    assert sources["modeling_cmt.py"].startswith("# Flat copy of `modeling_cmt.modeling_cmt`")
    # modules without cmt imports are copied byte for byte, as transformers' custom_object_save would
    import processing_cmt.processing_cmt as processing_module

    assert sources["processing_cmt.py"] == open(processing_module.__file__, encoding="utf-8").read()


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
            from modeling_cmt.hub_cmt import create_model_card  # optional: transformers ignores try blocks
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
        "    from modeling_cmt.hub_cmt import create_model_card  # optional: transformers ignores try blocks" in lines
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


def test_save_pretrained_writes_the_code_and_auto_map(saved_folder):
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
    for name, source in remote_code_sources().items():
        assert (saved_folder / name).read_text() == source, name
    processor_config = json.loads((saved_folder / "processor_config.json").read_text())
    assert processor_config["auto_map"] == {"AutoProcessor": remote_code_auto_map()["AutoProcessor"]}


def test_a_checkpoint_without_task_head_ships_no_pipeline(tiny_tokenizer, tmp_path):
    CMTForPreTraining(tiny_config(tiny_tokenizer)).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["auto_map"] == remote_code_auto_map() and "custom_pipelines" not in config
    assert not (tmp_path / "pipeline_cmt.py").exists()
    assert sorted(path.name for path in tmp_path.glob("*.py")) == sorted(remote_code_sources(include_pipeline=False))
    assert "pipeline_cmt.py" not in remote_code_sources(include_pipeline=False)


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


# --- model cards -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(MODEL_CARD_VARIANTS))
def test_every_variant_renders_a_card_with_hub_metadata(variant):
    card = create_model_card(variant, repo_id="my-org/my-cmt", license="apache-2.0")
    reloaded = ModelCard(str(card))  # what the Hub parses
    data = reloaded.data
    assert data.library_name == "transformers"
    assert data.pipeline_tag == MODEL_CARD_VARIANTS[variant].pipeline_tag
    assert data.base_model == ["FacebookAI/roberta-large", "facebook/hubert-large-ll60k"]
    assert "openslr/librispeech_asr" in data.datasets and data.license == "apache-2.0"
    assert data.eval_results is None  # no results given, none invented
    for section in ("## How to use", "## Training procedure", "## Limitations", "## Evaluation"):
        assert section in card.text, section
    assert '"my-org/my-cmt", trust_remote_code=True' in card.text
    # the install line lists what transformers' check_imports will demand of the shipped code
    requirements = remote_code_requirements(include_pipeline=MODEL_CARD_VARIANTS[variant].task_type is not None)
    assert f"pip install {' '.join(requirements)}" in card.text
    assert {"torch", "transformers", "librosa", "soundfile"} <= set(requirements)
    assert "{{" not in card.content and "{%" not in card.content and "\n\n\n" not in card.content


def test_results_fill_model_index_and_the_card_table(classifier):
    logits = torch.tensor([[3.0, 0, 0, 0], [0, 3.0, 0, 0], [0, 0, 3.0, 0], [0, 0, 3.0, 0], [0, 0, 0, 3.0]])
    labels = torch.tensor([0, 1, 2, 3, 3])
    results = {f"eval_{key}": value for key, value in ser_metrics(logits.numpy(), labels.numpy(), LABELS).items()}
    results.update({"eval_loss": 0.3, "eval_runtime": 1.2, "epoch": 3.0})  # Trainer bookkeeping: not results
    card = create_model_card("cmt-ser", results=results, repo_id="my-org/cmt-ser", config=classifier.config)

    model_index = yaml.safe_load(card.content.split("---")[1])["model-index"]
    assert model_index[0]["name"] == "CMT for speech emotion recognition (IEMOCAP)"
    entry = model_index[0]["results"][0]
    assert entry["task"]["type"] == "audio-classification"
    assert entry["dataset"]["type"] == "iemocap"
    metrics = {metric["name"]: metric for metric in entry["metrics"]}
    assert metrics["Weighted accuracy (WA)"]["value"] == pytest.approx(0.8)
    assert metrics["Weighted accuracy (WA)"]["type"] == "accuracy"
    assert metrics["Unweighted accuracy (UA)"]["value"] == pytest.approx(results["eval_ua"])
    assert metrics["Binary accuracy (sad)"]["value"] == pytest.approx(results["eval_binary_acc_sad"])
    assert not {"loss", "runtime", "epoch", "eval_loss"} & set(metrics)
    assert "| Weighted accuracy (WA) | 0.8000 |" in card.text
    assert "angry, happy, neutral, sad" in card.text  # label names from the config

    folds = [
        sa_metrics([1.2, -0.4, 2.2, -2.0], [1.0, -1.0, 2.5, -1.5]),
        sa_metrics([0.5, -1.0, 1.0], [1.0, -2.0, 1.5]),
    ]
    aggregated = {key: value for key, value in aggregate_results(folds).items() if key in ("acc7", "mae")}
    card = create_model_card("cmt-sa", results=aggregated)
    metrics = {metric.metric_name: metric for metric in card.data.eval_results}
    assert metrics["MAE"].metric_value == pytest.approx(aggregated["mae"]["mean"])
    assert f"{aggregated['mae']['mean']:.4f} ± {aggregated['mae']['std']:.4f} (2 runs)" in card.text


def test_bad_card_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="Unknown model card variant 'cmt-huge'"):
        create_model_card("cmt-huge")
    with pytest.raises(ValueError, match=r"Unknown model card field\(s\) \['hyperparameter'\]"):
        create_model_card("cmt-ser", hyperparameter={"lr": 1e-5})
    with pytest.raises(ValueError, match=r"results\['recall_sad'\] is nan"):
        create_model_card("cmt-ser", results={"wa": 0.7, "recall_sad": float("nan")})
    with pytest.raises(ValueError, match=r"results\['wa'\] is not a number: 'high'"):
        create_model_card("cmt-ser", results={"wa": "high"})
    with pytest.raises(ValueError, match="only Trainer bookkeeping keys"):
        create_model_card("cmt-ser", results={"eval_loss": 0.2})
    with pytest.raises(ValueError, match="pretrained checkpoint with no downstream task"):
        create_model_card("cmt-base", results={"text_mlm_loss": 2.1})
    card = create_model_card(
        "cmt-base", results={"text_mlm_loss": 2.1}, task_type="fill-mask", dataset_type="librispeech", dataset_name="X"
    )
    assert card.data.eval_results[0].metric_value == pytest.approx(2.1)


def test_card_variant_follows_the_model_head(tiny_tokenizer):
    config = tiny_config(tiny_tokenizer, **label_kwargs())
    assert model_card_variant(CMTForSequenceClassification(config)) == "cmt-ser"
    assert model_card_variant(CMTForSequenceRegression(tiny_config(tiny_tokenizer, num_labels=1))) == "cmt-sa"
    large = tiny_config(tiny_tokenizer, num_cross_layers=4, num_cross_attention_heads=8)
    assert model_card_variant(CMTForPreTraining(large)) == "cmt-large"


# --- push -> pull through the loopback Hub ---------------------------------------------------------------------------


def test_push_uploads_weights_by_lfs_code_card_and_processor(hub, pushed):
    files = hub.files(pushed)
    assert set(remote_code_sources()) | {"config.json", "model.safetensors", "README.md"} <= set(files)
    assert {"processor_config.json", "tokenizer.json", "tokenizer_config.json"} <= set(files)
    assert files["model.safetensors"].lfs and not files["config.json"].lfs
    assert any(method == "PUT" and path.startswith("/lfs-objects/") for method, path in hub.requests)
    assert hub.commit_messages(pushed)[1:] == ["Upload CMTForSequenceClassification", "Upload processor"]
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


def test_push_writes_a_card_only_where_none_was_written(hub, classifier, tiny_processor):
    repo_id = "cmt-org/card-rules"
    api = HfApi(endpoint=hub.url, token=hub.token)
    with client_endpoint(hub.url):
        # a processor pushed first leaves transformers' placeholder card: the model's push replaces it
        tiny_processor.push_to_hub(repo_id, token=hub.token)
        assert "automatically generated" in hub.files(repo_id)["README.md"].content.decode()
        classifier.push_to_hub(repo_id, token=hub.token)
        assert "# CMT for speech emotion recognition" in hub.files(repo_id)["README.md"].content.decode()
        # a card someone wrote is kept, tags added
        api.upload_file(
            path_or_fileobj=b"---\nlicense: mit\n---\n# Hand-written card\n", path_in_repo="README.md", repo_id=repo_id
        )
        classifier.push_to_hub(repo_id, token=hub.token, tags=["iemocap-fold-1"])
        card = ModelCard(hub.files(repo_id)["README.md"].content.decode())
        assert "# Hand-written card" in card.text and card.data.license == "mit"
        assert card.data.tags == ["iemocap-fold-1"]
        # an explicit card replaces whatever is there
        classifier.push_to_hub(repo_id, token=hub.token, model_card=create_model_card("cmt-ser", license="other"))
    card = ModelCard(hub.files(repo_id)["README.md"].content.decode())
    assert card.data.license == "other" and "# Hand-written card" not in card.text
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
args = json.loads(open(sys.argv[1]).read())
results = {}


def check(name, function):
    try:
        results[name] = {"ok": True, **function()}
    except Exception:
        results[name] = {"ok": False, "error": traceback.format_exc()}


def cmt_not_importable():
    importable = []
    for package in PACKAGES:
        try:
            importlib.import_module(package)
            importable.append(package)
        except ModuleNotFoundError:
            pass
    return {"importable": importable}


check("cmt_not_importable", cmt_not_importable)

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


def test_clean_environment_cannot_import_cmt(clean_environment):
    assert assert_check(clean_environment, "cmt_not_importable")["importable"] == []


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
