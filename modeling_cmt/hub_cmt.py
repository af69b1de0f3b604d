# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Publishing CMT checkpoints on the Hugging Face Hub: remote code that loads where cmt is not installed, and model
cards.

**Remote code.** With `trust_remote_code=True`, transformers copies the module named in a config's `auto_map` and,
recursively, the *flat sibling* modules it imports with `from .x import y` (`dynamic_module_utils`); every other
import must be an installed library (`check_imports` imports each one and fails otherwise). cmt is three packages
that import each other by absolute name (`from configuration_cmt import CMTConfig`), so [`export_remote_code`]
writes flat copies of the modules a checkpoint needs (`configuration_cmt.py`, `modeling_cmt.py`,
`processing_cmt.py`, `audio_utils.py`, the pipeline module and its imports) with those imports rewritten to sibling
imports, and records `auto_map` (and `custom_pipelines`) in the config. `CMTPreTrainedModel.save_pretrained`, and so
`push_to_hub`, calls it before saving the config ([`export_model_remote_code`]).

transformers' own mechanism (`register_for_auto_class`, whose `custom_object_save` copies the defining module and
its relative imports verbatim) does not do: the verbatim `modeling_cmt.py` (and `data_collator.py`, which
`processing_cmt.py` imports) would fail `check_imports`, and `auto_map` would name only the saving class, while a
checkpoint must serve `AutoModel`, `AutoModelForSequenceClassification`, `AutoModelForPreTraining` and
`AutoProcessor`. The processor therefore copies nothing: `CMTProcessor` only records its `auto_map` entry in
`processor_config.json`, and the flat `processing_cmt.py` it names is written by the model's `save_pretrained`, so
save (or push) the processor beside the model.

**Model cards.** `model_cards/` holds one Jinja2 template per published variant ([`MODEL_CARD_VARIANTS`]);
[`create_model_card`] renders one with huggingface_hub's `ModelCard.from_template`, metadata in `ModelCardData`
and `model-index` results as `EvalResult`s. [`push_model_to_hub`] (what `CMTPreTrainedModel.push_to_hub` calls)
writes it as `README.md` when the repo has none.
"""

import ast
import importlib
import importlib.util
import math
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData
from huggingface_hub.errors import EntryNotFoundError
from transformers import PreTrainedConfig

from configuration_cmt import CMT_PRESETS, CMTConfig
from processing_cmt import CMTProcessor

from .modeling_cmt import CMTForPreTraining, CMTForSequenceClassification, CMTModel, CMTPreTrainedModel


__all__ = [
    "MODEL_CARD_VARIANTS",
    "MODEL_CARDS_DIR",
    "create_model_card",
    "export_model_remote_code",
    "export_remote_code",
    "flatten_module_source",
    "model_card_variant",
    "push_model_to_hub",
    "remote_code_auto_map",
    "remote_code_requirements",
    "remote_code_sources",
]

# The packages whose cross-imports are rewritten; each inner module becomes one flat module of the same name.
CMT_PACKAGES = ("configuration_cmt", "modeling_cmt", "processing_cmt")

# The pipeline module is optional: exported (with `custom_pipelines`) when it exists.
PIPELINE_MODULE = "processing_cmt.pipeline_cmt"

# `custom_pipelines` key of a registered task: `pipeline()` treats a task named in the config's `custom_pipelines` as
# remote code and refuses it without `trust_remote_code=True`, even where cmt is installed and registers the same task
# name. Under another key, `pipeline("audio-text-sentiment", model=folder)` keeps using the installed code, while
# `pipeline(model=folder, trust_remote_code=True)` infers the (single) custom task where cmt is not installed.
REMOTE_TASK_PREFIX = "cmt-"

# installed: modeling_cmt/model_cards (setup.py maps the repository's model_cards/ there); a source checkout: the
# repository's own folder
MODEL_CARDS_DIR = next(
    (
        folder
        for folder in (
            Path(__file__).resolve().parent / "model_cards",
            Path(__file__).resolve().parents[1] / "model_cards",
        )
        if folder.is_dir()
    ),
    Path(__file__).resolve().parents[1] / "model_cards",
)

# Written at the top of every flat module whose imports were rewritten, so nobody edits the copy.
FLAT_MODULE_HEADER = (
    "# Flat copy of `{module}` for trust_remote_code, written by modeling_cmt.hub_cmt.export_remote_code:\n"
    "# its imports of the cmt packages are rewritten to sibling imports. Edit the package, not this file.\n"
)


# --- remote code ----------------------------------------------------------------------------------------------------


def _flat_name(module_name: str) -> str:
    """`"modeling_cmt.modeling_cmt"` -> `"modeling_cmt"`: the file name of an inner module in the flat layout."""
    package, _, inner = module_name.partition(".")
    if package not in CMT_PACKAGES or not inner or "." in inner:
        raise ValueError(
            f"Only the inner modules of {CMT_PACKAGES} (`package.module`) can be exported as remote code, got "
            f"{module_name!r}."
        )
    return inner


def _module_source(module_name: str) -> tuple[str, str]:
    module = importlib.import_module(module_name)
    path = getattr(module, "__file__", None)
    if path is None or not path.endswith(".py"):
        raise ValueError(f"Cannot export {module_name!r}: it has no Python source file ({path}).")
    return Path(path).read_text(encoding="utf-8"), path


def _top_level_definitions(module_name: str) -> set[str]:
    """Names a module defines itself (assignments, functions, classes), not the ones it imports."""
    tree = ast.parse(_module_source(module_name)[0])
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _defining_module(package: str, name: str, where: str) -> str:
    """The inner module of `package` that defines `name`, which `from package import name` re-exports."""
    package_module = importlib.import_module(package)
    if not hasattr(package_module, name):
        raise ValueError(f"{where}: `from {package} import {name}`, but {package} has no attribute {name!r}.")
    value = getattr(package_module, name)
    if isinstance(value, type(sys)):
        raise ValueError(
            f"{where}: `from {package} import {name}` imports a module, which has no flat equivalent transformers "
            f"would copy; import names from it instead (`from {package}.{name} import ...`)."
        )
    owner = getattr(value, "__module__", None) if callable(value) else None
    if owner is not None and owner.startswith(package + "."):
        return owner
    # constants (dicts, strings) carry no __module__: find the inner module whose source defines the name
    candidates = sorted(
        module_name
        for module_name in list(sys.modules)
        if module_name.startswith(package + ".") and name in _top_level_definitions(module_name)
    )
    if len(candidates) != 1:
        raise ValueError(
            f"{where}: cannot tell which module of {package} defines {name!r} (candidates: {candidates}); import it "
            f"from its module (`from {package}.<module> import {name}`)."
        )
    return candidates[0]


def _inside_try(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try):
            return True
    return False


def flatten_module_source(module_name: str, source: str, path: str = "<source>") -> tuple[str, list[str]]:
    """
    The source of an inner cmt module with every import of a cmt package rewritten to a flat sibling import
    (`from configuration_cmt import CMTConfig` -> `from .configuration_cmt import CMTConfig`; a name re-exported by a
    package `__init__` is imported from the module that defines it), and the full names of the cmt modules it imports.

    Imports inside a `try:` block are left alone: transformers' `check_imports` does not require them (the code
    handles their `ImportError` itself).

    Args:
        module_name (`str`): the module's name, `"package.module"` (it decides the package of relative imports).
        source (`str`): its source.
        path (`str`, *optional*): the file, for error messages.

    Returns:
        `tuple[str, list[str]]`

    Raises:
        `ValueError`: naming `path:line` of an import with no flat equivalent: `import configuration_cmt` (binds a
        module), `from . import x` and `from .x.y import z` (transformers does not copy them), `from pkg import *`,
        or an import sharing its line with other code.
    """
    _flat_name(module_name)
    package = module_name.split(".")[0]
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []  # (first line index, last line index + 1, replacement)
    dependencies: list[str] = []

    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        where = f"{path}:{node.lineno}"
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            if node.level > 1 or node.module is None or "." in node.module:
                raise ValueError(
                    f"{where}: only `from .module import name` relative imports have a flat equivalent that "
                    "transformers copies with remote code."
                )
            dependencies.append(f"{package}.{node.module}")
            continue
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
        if not any(name.split(".")[0] in CMT_PACKAGES for name in names):
            continue
        if _inside_try(node, parents):
            continue
        if isinstance(node, ast.Import):
            raise ValueError(
                f"{where}: `import {', '.join(names)}` binds a cmt package as a module, which has no flat "
                "equivalent; use `from <package> import name`."
            )
        target_package, _, inner = node.module.partition(".")
        groups: dict[str, list[str]] = {}  # flat module -> "name [as alias]"
        for alias in node.names:
            if alias.name == "*":
                raise ValueError(f"{where}: `from {node.module} import *` cannot be flattened; name the imports.")
            owner = (
                node.module if inner else _defining_module(target_package, alias.name, where)
            )  # `from pkg.inner import x` names its module; `from pkg import x` is resolved to the defining module
            dependencies.append(owner)
            imported = alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"
            groups.setdefault(_flat_name(owner), []).append(imported)
        first, last = node.lineno - 1, node.end_lineno - 1
        before, after = lines[first][: node.col_offset], lines[last][node.end_col_offset :]
        if before.strip() or (after.strip() and not after.strip().startswith("#")):
            raise ValueError(f"{where}: put the import of {node.module} on lines of its own to export it.")
        indent = " " * node.col_offset
        replacement = "".join(f"{indent}from .{flat} import {', '.join(items)}\n" for flat, items in groups.items())
        edits.append((first, last + 1, replacement))

    for first, stop, replacement in sorted(edits, reverse=True):
        lines[first:stop] = [replacement]
    flat_source = "".join(lines)
    if edits:
        flat_source = FLAT_MODULE_HEADER.format(module=module_name) + flat_source
    return flat_source, list(dict.fromkeys(dependencies))


def _flatten_module(module_name: str) -> tuple[str, list[str]]:
    source, path = _module_source(module_name)
    return flatten_module_source(module_name, source, path)


def _pipeline_module() -> str | None:
    """The pipeline module's name once it exists (imported, so that it registers its task), else None."""
    if importlib.util.find_spec(PIPELINE_MODULE) is None:
        return None
    importlib.import_module(PIPELINE_MODULE)
    return PIPELINE_MODULE


def remote_code_sources(include_pipeline: bool = True) -> dict[str, str]:
    """
    The flat modules of a CMT checkpoint: file name (`"modeling_cmt.py"`, ...) -> source with the imports between
    cmt packages rewritten to sibling imports. Starts from the modules of the config, the models, the processor and
    (if it exists and `include_pipeline`) the pipeline, and follows their imports of cmt modules.

    Args:
        include_pipeline (`bool`, *optional*, defaults to `True`):
            Whether to export the `audio-text-sentiment` pipeline module.

    Returns:
        `dict[str, str]`

    Raises:
        `ValueError`: naming the file and line of an import that has no flat equivalent, or two modules that would
        share a flat file name.
    """
    roots = [CMTConfig.__module__, CMTModel.__module__, CMTProcessor.__module__]
    pipeline_module = _pipeline_module() if include_pipeline else None
    if pipeline_module is not None:
        roots.append(pipeline_module)
    sources: dict[str, str] = {}
    flat_owner: dict[str, str] = {}
    queue = list(roots)
    while queue:
        module_name = queue.pop(0)
        flat = _flat_name(module_name)
        if flat in flat_owner:
            if flat_owner[flat] != module_name:
                raise ValueError(
                    f"{flat_owner[flat]} and {module_name} would both be written as {flat}.py; rename one of them."
                )
            continue
        flat_owner[flat] = module_name
        sources[f"{flat}.py"], dependencies = _flatten_module(module_name)
        queue.extend(dependencies)
    return sources


# import name -> distribution name, where they differ
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow"}


def remote_code_requirements(include_pipeline: bool = True) -> list[str]:
    """
    The libraries (pip names) the flat modules import, at any depth, as transformers' `check_imports` will demand
    them where the checkpoint is loaded with `trust_remote_code`.

    Args:
        include_pipeline (`bool`, *optional*, defaults to `True`): whether the pipeline module counts.

    Returns:
        `list[str]`, sorted.
    """
    from transformers.dynamic_module_utils import get_imports

    libraries = set()
    with tempfile.TemporaryDirectory() as directory:
        for file_name, source in remote_code_sources(include_pipeline=include_pipeline).items():
            path = Path(directory) / file_name
            path.write_text(source, encoding="utf-8")
            libraries.update(get_imports(path))
    libraries -= set(sys.stdlib_module_names)
    return sorted(_DISTRIBUTIONS.get(library, library) for library in libraries)


def remote_code_auto_map() -> dict[str, str]:
    """The `auto_map` of an exported checkpoint: Auto class -> `"flat_module.ClassName"`."""
    classes = {
        "AutoConfig": CMTConfig,
        "AutoModel": CMTModel,
        "AutoModelForSequenceClassification": CMTForSequenceClassification,
        "AutoModelForPreTraining": CMTForPreTraining,
        "AutoProcessor": CMTProcessor,
    }
    return {auto: f"{_flat_name(cls.__module__)}.{cls.__name__}" for auto, cls in classes.items()}


def _custom_pipelines(pipeline_module: str) -> dict[str, dict]:
    """`custom_pipelines` entries for the tasks the pipeline module registered, as `Pipeline.save_pretrained` writes
    them (the implementation and the model classes by name)."""
    from transformers.pipelines import PIPELINE_REGISTRY

    entries = {}
    for task, info in PIPELINE_REGISTRY.supported_tasks.items():
        impl = info.get("impl")
        if getattr(impl, "__module__", None) != pipeline_module:
            continue
        entry = {
            "impl": f"{_flat_name(pipeline_module)}.{impl.__name__}",
            "pt": [model_class.__name__ for model_class in info.get("pt", ())],
        }
        if "type" in info:
            entry["type"] = info["type"]
        entries[f"{REMOTE_TASK_PREFIX}{task}"] = entry
    return entries


def export_remote_code(
    save_directory: str | os.PathLike, config: PreTrainedConfig | None = None, include_pipeline: bool = True
) -> list[Path]:
    """
    Writes the flat remote-code modules of a CMT checkpoint into `save_directory` and sets `config.auto_map` (and
    `config.custom_pipelines` when the pipeline module exists), so that the folder, once the config is saved, loads
    with `AutoConfig`/`AutoModel`/`AutoModelForSequenceClassification`/`AutoModelForPreTraining`/`AutoProcessor`
    `.from_pretrained(folder, trust_remote_code=True)` and `pipeline(model=folder, trust_remote_code=True)` where cmt is
    not installed.

    `CMTPreTrainedModel.save_pretrained` calls this before saving the config; call it yourself only for a folder
    written some other way (then save the config afterwards).

    Args:
        save_directory (`str` or `os.PathLike`):
            The checkpoint folder (created if missing).
        config ([`CMTConfig`], *optional*):
            The config to record `auto_map` / `custom_pipelines` in (modified in place; existing `auto_map` entries
            for other classes are kept).
        include_pipeline (`bool`, *optional*, defaults to `True`):
            Whether to export the pipeline module and record it in `custom_pipelines`.

    Returns:
        `list[Path]`: the files written.
    """
    save_directory = Path(save_directory)
    save_directory.mkdir(parents=True, exist_ok=True)
    sources = remote_code_sources(include_pipeline=include_pipeline)
    written = []
    for file_name, source in sources.items():
        path = save_directory / file_name
        path.write_text(source, encoding="utf-8")
        written.append(path)
    if config is not None:
        config.auto_map = {**(getattr(config, "auto_map", None) or {}), **remote_code_auto_map()}
        pipeline_module = _pipeline_module() if include_pipeline else None
        if pipeline_module is not None:
            pipelines = _custom_pipelines(pipeline_module)
            if pipelines:
                config.custom_pipelines = {**(getattr(config, "custom_pipelines", None) or {}), **pipelines}
    return written


def export_model_remote_code(model: CMTPreTrainedModel, save_directory: str | os.PathLike) -> list[Path]:
    """
    What `CMTPreTrainedModel.save_pretrained` calls before saving: [`export_remote_code`] with the model's config, the
    pipeline included only for a model with a task head (a pretrained checkpoint would give the pipeline a random
    head).

    Args:
        model ([`CMTPreTrainedModel`]): the model being saved.
        save_directory (`str` or `os.PathLike`): its folder.

    Returns:
        `list[Path]`: the files written.
    """
    return export_remote_code(
        save_directory, model.config, include_pipeline=isinstance(model, CMTForSequenceClassification)
    )


# --- model cards ----------------------------------------------------------------------------------------------------

BACKBONES = ["FacebookAI/roberta-large", "facebook/hubert-large-ll60k"]
PRETRAINING_DATASET = "openslr/librispeech_asr"


@dataclass(frozen=True)
class CardVariant:
    """What a published variant's card says by default."""

    title: str
    template: str
    pipeline_tag: str
    datasets: list[str]
    tags: list[str]
    # model-index defaults; `None` for the pretrained variants, which have no downstream task
    task_type: str | None = None
    task_name: str | None = None
    dataset_type: str | None = None
    dataset_name: str | None = None
    dataset_split: str | None = None
    # the paper's recipe (§4.2) for this variant, shown as a reference next to the checkpoint's own hyperparameters
    paper_recipe: dict[str, Any] = field(default_factory=dict)


_COMMON_TAGS = ["cmt", "audio-text", "multimodal", "custom_code"]
_PRETRAINING_RECIPE = {
    "pretraining data": "LibriSpeech 960 h (audio + transcripts)",
    "optimizer": "AdamW",
    "learning rate": "5e-5, linear decay",
    "effective batch size": 256,
    "updates": "100,000",
    "text masking": "15% of tokens (RoBERTa's 80/10/10)",
    "audio masking": "span starts p = 0.075, span length 10 frames",
}
_FINETUNING_RECIPE = {
    "optimizer": "Adam",
    "learning rate": "1e-5",
    "effective batch size": 16,
    "epochs": 25,
    "orthogonality weight α (Eq. 8)": 10,
}

MODEL_CARD_VARIANTS: dict[str, CardVariant] = {
    "cmt-base": CardVariant(
        title="CMT-Base",
        template="cmt-base.md",
        pipeline_tag="feature-extraction",
        datasets=[PRETRAINING_DATASET],
        tags=_COMMON_TAGS + ["pretraining"],
        paper_recipe=_PRETRAINING_RECIPE,
    ),
    "cmt-large": CardVariant(
        title="CMT-Large",
        template="cmt-large.md",
        pipeline_tag="feature-extraction",
        datasets=[PRETRAINING_DATASET],
        tags=_COMMON_TAGS + ["pretraining"],
        paper_recipe=_PRETRAINING_RECIPE,
    ),
    "cmt-ser": CardVariant(
        title="CMT for speech emotion recognition (IEMOCAP)",
        template="cmt-ser.md",
        pipeline_tag="audio-classification",
        datasets=[PRETRAINING_DATASET, "iemocap"],
        tags=_COMMON_TAGS + ["speech-emotion-recognition", "audio-text-sentiment"],
        task_type="audio-classification",
        task_name="Speech emotion recognition",
        dataset_type="iemocap",
        dataset_name="IEMOCAP (4 classes, leave-one-session-out)",
        dataset_split="test",
        paper_recipe=_FINETUNING_RECIPE,
    ),
    "cmt-sa": CardVariant(
        title="CMT for sentiment analysis (CMU-MOSEI)",
        template="cmt-sa.md",
        pipeline_tag="audio-classification",
        datasets=[PRETRAINING_DATASET, "cmu-mosei"],
        tags=_COMMON_TAGS + ["sentiment-analysis", "audio-text-sentiment"],
        task_type="audio-classification",
        task_name="Sentiment analysis (regression in [-3, 3])",
        dataset_type="cmu-mosei",
        dataset_name="CMU-MOSEI",
        dataset_split="test",
        paper_recipe=_FINETUNING_RECIPE,
    ),
}

# metric key (as processing_cmt.metrics returns it) -> (model-index metric type, display name)
_METRIC_NAMES = {
    "wa": ("accuracy", "Weighted accuracy (WA)"),
    "ua": ("unweighted_accuracy", "Unweighted accuracy (UA)"),
    "macro_f1": ("f1", "Macro F1"),
    "weighted_f1": ("f1", "Weighted F1"),
    "acc7": ("accuracy", "Acc7"),
    "acc5": ("accuracy", "Acc5"),
    "acc2_non0": ("accuracy", "Acc2 (negative vs positive)"),
    "f1_non0": ("f1", "F1 (negative vs positive)"),
    "acc2_has0": ("accuracy", "Acc2 (negative vs non-negative)"),
    "f1_has0": ("f1", "F1 (negative vs non-negative)"),
    "mae": ("mae", "MAE"),
    "corr": ("pearsonr", "Pearson correlation"),
}
_PER_CLASS_METRICS = {
    "binary_acc_": ("accuracy", "Binary accuracy ({})"),
    "binary_f1_": ("f1", "Binary F1 ({})"),
    "recall_": ("recall", "Recall ({})"),
}
# Trainer's bookkeeping next to the metrics in `trainer.evaluate()` output: not model-index results
_TRAINER_KEYS = {"loss", "runtime", "samples_per_second", "steps_per_second", "epoch"}
_RESULT_PREFIXES = ("eval_", "test_", "predict_")

# `create_model_card` fields read by the templates / model-index rather than stored as card metadata
_TEMPLATE_FIELDS = {
    "repo_id",
    "config",
    "preset",
    "hyperparameters",
    "training_summary",
    "task_type",
    "task_name",
    "dataset_type",
    "dataset_name",
    "dataset_split",
    "dataset_config",
    "source_name",
    "source_url",
}
_CARD_DATA_FIELDS = {
    "base_model",
    "datasets",
    "language",
    "library_name",
    "license",
    "license_name",
    "license_link",
    "metrics",
    "model_name",
    "pipeline_tag",
    "tags",
}


def _preset_of(config: PreTrainedConfig | None) -> str | None:
    if config is None:
        return None
    for name, preset in CMT_PRESETS.items():
        if all(getattr(config, key, None) == value for key, value in preset.items()):
            return name
    return None


def model_card_variant(model: CMTPreTrainedModel) -> str:
    """
    The card variant matching a model: `"cmt-sa"` for a regression head, `"cmt-ser"` for a classification head,
    `"cmt-large"` for a headless model with the CMT-Large preset, else `"cmt-base"`.

    Args:
        model ([`CMTPreTrainedModel`]): the model to describe.
    """
    if isinstance(model, CMTForSequenceClassification):
        is_regression = model.config.problem_type == "regression" or model.config.num_labels == 1
        return "cmt-sa" if is_regression else "cmt-ser"
    return "cmt-large" if _preset_of(model.config) == "cmt-large" else "cmt-base"


def _result_value(name: str, value: Any) -> tuple[float, str]:
    """A results entry -> (value, display); `{"mean", "std", "n"}` (from `aggregate_results`) reads as mean ± std."""
    if isinstance(value, Mapping):
        if "mean" not in value:
            raise ValueError(f"results[{name!r}] is a mapping without 'mean': {dict(value)!r}.")
        mean, std = value["mean"], value.get("std")
        mean_value, _ = _result_value(name, mean)
        if std is None or (isinstance(std, float) and math.isnan(std)):
            return mean_value, f"{mean_value:.4f}"
        runs = f" ({value['n']} runs)" if "n" in value else ""
        return mean_value, f"{mean_value:.4f} ± {float(std):.4f}{runs}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"results[{name!r}] is not a number: {value!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(
            f"results[{name!r}] is {number}: a model card cannot report a non-finite value (e.g. the recall of a "
            "class absent from the evaluation set); leave that metric out."
        )
    return number, f"{number:.4f}"


def _metric_names(key: str) -> tuple[str, str]:
    if key in _METRIC_NAMES:
        return _METRIC_NAMES[key]
    for prefix, (metric_type, display) in _PER_CLASS_METRICS.items():
        if key.startswith(prefix):
            return metric_type, display.format(key[len(prefix) :])
    return key, key


def _eval_results(
    results: Mapping[str, Any], variant: CardVariant, fields: dict[str, Any]
) -> tuple[list[EvalResult], list[dict[str, str]]]:
    task_type = fields.get("task_type", variant.task_type)
    dataset_type = fields.get("dataset_type", variant.dataset_type)
    dataset_name = fields.get("dataset_name", variant.dataset_name)
    if task_type is None or dataset_type is None or dataset_name is None:
        raise ValueError(
            f"{variant.title} is a pretrained checkpoint with no downstream task: to report `results`, also pass "
            "`task_type`, `dataset_type` and `dataset_name`."
        )
    eval_results, rows = [], []
    for raw_key, raw_value in results.items():
        key = raw_key
        for prefix in _RESULT_PREFIXES:
            key = key.removeprefix(prefix)
        if key in _TRAINER_KEYS:
            continue
        value, display = _result_value(raw_key, raw_value)
        metric_type, metric_name = _metric_names(key)
        eval_results.append(
            EvalResult(
                task_type=task_type,
                task_name=fields.get("task_name", variant.task_name),
                dataset_type=dataset_type,
                dataset_name=dataset_name,
                dataset_split=fields.get("dataset_split", variant.dataset_split),
                dataset_config=fields.get("dataset_config"),
                metric_type=metric_type,
                metric_name=metric_name,
                metric_value=value,
                source_name=fields.get("source_name"),
                source_url=fields.get("source_url"),
            )
        )
        rows.append({"metric": metric_name, "key": key, "value": display})
    if not eval_results:
        raise ValueError(f"results has no metric (only Trainer bookkeeping keys): {sorted(results)}.")
    return eval_results, rows


def _architecture(config: CMTConfig | None, preset: str | None) -> dict[str, Any] | None:
    if config is None:
        return None
    text, audio = config.text_config, config.audio_config
    return {
        "preset": preset or "custom",
        "modalities": config.modalities,
        "num_cross_layers": config.num_cross_layers,
        "num_cross_attention_heads": config.num_cross_attention_heads,
        "cross_intermediate_size": config.cross_intermediate_size,
        "audio_layer_pooling": config.audio_layer_pooling,
        "text_backbone": f"{text.model_type}, {text.num_hidden_layers} layers, hidden size {text.hidden_size}",
        "audio_backbone": f"{audio.model_type}, {audio.num_hidden_layers} layers, hidden size {audio.hidden_size}",
        "labels": [config.id2label[i] for i in sorted(config.id2label)] if config.num_labels > 1 else None,
        "num_labels": config.num_labels,
    }


def create_model_card(variant: str, results: Mapping[str, Any] | None = None, **fields: Any) -> ModelCard:
    r"""
    Renders the model card of a published CMT variant from its template in `model_cards/`.

    Args:
        variant (`str`):
            One of [`MODEL_CARD_VARIANTS`]: `"cmt-base"`, `"cmt-large"` (pretrained), `"cmt-ser"` (fine-tuned on
            IEMOCAP) or `"cmt-sa"` (fine-tuned on CMU-MOSEI).
        results (`dict`, *optional*):
            Evaluation results for `model-index` and the card's table: metric -> number (what
            `processing_cmt.ser_metrics` / `sa_metrics` or `Trainer.evaluate` return; `eval_`/`test_` prefixes are
            stripped and Trainer's bookkeeping keys `loss`, `runtime`, `samples_per_second`, `steps_per_second`,
            `epoch` are not results) or metric -> `{"mean", "std", "n"}` (what `aggregate_results` returns).
        fields:
            Card metadata (`ModelCardData` fields, overriding the variant's defaults): `base_model`, `datasets`,
            `language`, `library_name`, `license`, `license_name`, `license_link`, `metrics`, `model_name`,
            `pipeline_tag`, `tags`. Template fields: `repo_id` (the Hub id or folder in the usage snippet), `config`
            (a [`CMTConfig`]: architecture table, label names, preset), `preset`, `hyperparameters` (`dict` of this
            checkpoint's training hyperparameters), `training_summary` (free text). `model-index` fields:
            `task_type`, `task_name`, `dataset_type`, `dataset_name`, `dataset_split`, `dataset_config`,
            `source_name`, `source_url`.

    Returns:
        `huggingface_hub.ModelCard`

    Raises:
        `ValueError`: for an unknown variant or field, a non-numeric or non-finite result, or results for a
        pretrained variant without `task_type`/`dataset_type`/`dataset_name`.

    Example:

    ```python
    >>> from modeling_cmt.hub_cmt import create_model_card

    >>> card = create_model_card(
    ...     "cmt-ser", results={"wa": 0.751, "ua": 0.763}, repo_id="my-org/cmt-base-iemocap", license="apache-2.0"
    ... )
    >>> card.save("README.md")
    ```
    """
    if variant not in MODEL_CARD_VARIANTS:
        raise ValueError(f"Unknown model card variant {variant!r}; choose one of {sorted(MODEL_CARD_VARIANTS)}.")
    unknown = sorted(set(fields) - _TEMPLATE_FIELDS - _CARD_DATA_FIELDS)
    if unknown:
        raise ValueError(
            f"Unknown model card field(s) {unknown}; card metadata: {sorted(_CARD_DATA_FIELDS)}, template and "
            f"model-index fields: {sorted(_TEMPLATE_FIELDS)}."
        )
    spec = MODEL_CARD_VARIANTS[variant]
    template_path = MODEL_CARDS_DIR / spec.template
    if not template_path.is_file():
        raise FileNotFoundError(
            f"Model card template {template_path} is missing: create_model_card reads the templates from the "
            "repository's model_cards/ folder (pass your own card as `push_to_hub(..., model_card=...)`)."
        )
    config = fields.get("config")
    if config is not None and not isinstance(config, CMTConfig):
        raise ValueError(f"`config` must be a CMTConfig, got {type(config).__name__}.")
    preset = fields.get("preset") or _preset_of(config)
    if preset is None and variant in CMT_PRESETS:
        preset = variant

    eval_results, result_rows = _eval_results(results, spec, fields) if results else (None, [])
    card_fields = {
        "base_model": list(BACKBONES),
        "datasets": list(spec.datasets),
        "language": "en",
        "library_name": "transformers",
        "pipeline_tag": spec.pipeline_tag,
        "tags": list(spec.tags),
        "model_name": spec.title,
    }
    card_fields.update({key: value for key, value in fields.items() if key in _CARD_DATA_FIELDS})
    card_data = ModelCardData(eval_results=eval_results, **card_fields)
    card = ModelCard.from_template(
        card_data,
        template_path=str(template_path),
        title=card_fields["model_name"],
        repo_id=fields.get("repo_id") or "path/to/checkpoint",
        preset=preset,
        architecture=_architecture(config, preset),
        hyperparameters=fields.get("hyperparameters"),
        paper_recipe=spec.paper_recipe,
        requirements=remote_code_requirements(include_pipeline=spec.task_type is not None),
        training_summary=fields.get("training_summary"),
        result_rows=result_rows,
        eval_dataset=fields.get("dataset_name", spec.dataset_name),
        eval_split=fields.get("dataset_split", spec.dataset_split),
    )
    # optional template sections leave runs of blank lines behind
    return ModelCard(re.sub(r"\n{3,}", "\n\n", str(card)))


def _existing_card(api: HfApi, repo_id: str, token: bool | str | None) -> ModelCard | None:
    """The repo's README.md as a card, or None when it has none or only transformers' auto-generated placeholder."""
    try:
        card = ModelCard.load(repo_id, token=token)
    except EntryNotFoundError:
        return None
    # `transformers.utils.hub.create_and_tag_model_card` writes this placeholder, e.g. when a processor was pushed
    # first: not a card anyone wrote
    if "This model card has been automatically generated" in card.text:
        return None
    return card


def push_model_to_hub(
    model: CMTPreTrainedModel,
    repo_id: str,
    *,
    commit_message: str | None = None,
    commit_description: str | None = None,
    private: bool | None = None,
    token: bool | str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    max_shard_size: int | str | None = "50GB",
    tags: list[str] | None = None,
    model_card: ModelCard | None = None,
):
    """
    `model.push_to_hub`: uploads the checkpoint (weights, config with `auto_map`, flat remote code) and a model card
    in one commit. The card is `model_card` when given; else the repo's README.md when it has one (transformers'
    auto-generated placeholder does not count); else [`create_model_card`] for [`model_card_variant`]`(model)`.
    `tags` (and `model.model_tags`) are added to the card's tags.

    Args:
        model ([`CMTPreTrainedModel`]): the model to upload.
        repo_id (`str`): the repository, `"namespace/name"` (created if missing).
        commit_message, commit_description, private, token, revision, create_pr, max_shard_size, tags:
            as in [`~transformers.PreTrainedModel.push_to_hub`].
        model_card (`huggingface_hub.ModelCard`, *optional*): the card to write as README.md.

    Returns:
        `huggingface_hub.CommitInfo` of the upload commit.
    """
    api = HfApi()
    repo_id = api.create_repo(repo_id, private=private, token=token, exist_ok=True).repo_id
    card = model_card or _existing_card(api, repo_id, token)
    if card is None:
        card = create_model_card(model_card_variant(model), repo_id=repo_id, config=model.config)
    all_tags = list(dict.fromkeys([*(model.model_tags or []), *(tags or [])]))
    if all_tags:
        card.data.tags = list(dict.fromkeys([*(card.data.tags or []), *all_tags]))
    with tempfile.TemporaryDirectory() as work_dir:
        model.save_pretrained(work_dir, max_shard_size=max_shard_size)
        card.save(os.path.join(work_dir, "README.md"))
        if revision is not None and not revision.startswith("refs/pr"):
            api.create_branch(repo_id=repo_id, branch=revision, token=token, exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=work_dir,
            commit_message=commit_message or f"Upload {type(model).__name__}",
            commit_description=commit_description,
            token=token,
            revision=revision,
            create_pr=create_pr,
        )
