# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Remote code for CMT checkpoints: flat copies of the modules that loading and inference need, with which a checkpoint
folder loads with `trust_remote_code=True` where cmt is not installed.

With `trust_remote_code=True`, transformers copies the module named in a config's `auto_map` and, recursively, the
*flat sibling* modules it imports with `from .x import y` (`dynamic_module_utils`); every other import must be an
installed library (`check_imports` imports each one and fails otherwise). cmt is three packages that import each other
by absolute name (`from configuration_cmt import CMTConfig`), so [`export_remote_code`] writes flat copies of the
modules a checkpoint needs (`configuration_cmt.py`, `modeling_cmt.py`, `processing_cmt.py`, `audio_utils.py` and, for
a model with a task head, `pipeline_cmt.py`) with those imports rewritten to sibling imports, and records `auto_map`
(and `custom_pipelines`) in the folder's `config.json` and `processor_config.json`. The set follows the imports of
the config, model, processor and pipeline modules: training code (collators, metrics, data builders) stays out, and
so do `datasets` and `evaluate`.

transformers' own mechanism (`register_for_auto_class`, whose `custom_object_save` copies the defining module and its
relative imports verbatim) does not do: the verbatim `modeling_cmt.py` would fail `check_imports`, and `auto_map`
would name only the saving class, while a checkpoint must serve `AutoModel`, `AutoModelForSequenceClassification`,
`AutoModelForPreTraining` and `AutoProcessor`.

Nothing here runs on `model.save_pretrained` (which writes weights and config only): export explicitly with
[`save_pretrained_with_remote_code`], [`export_remote_code`] on a saved folder, `python -m modeling_cmt.remote_code
--model DIR`, or publish with [`~modeling_cmt.hub.push_to_hub`]. This module imports the model, never the reverse.
"""

import argparse
import ast
import importlib
import importlib.util
import json
import os
import re
import sys
import tempfile
from pathlib import Path

from configuration_cmt import CMTConfig
from processing_cmt import CMTProcessor

from .modeling_cmt import CMTForPreTraining, CMTForSequenceClassification, CMTModel, CMTPreTrainedModel


__all__ = [
    "FLAT_MODULE_HEADER",
    "export_remote_code",
    "flatten_module_source",
    "remote_code_auto_map",
    "remote_code_requirements",
    "remote_code_sources",
    "save_pretrained_with_remote_code",
]

# The packages whose cross-imports are rewritten; each inner module becomes one flat module of the same name.
CMT_PACKAGES = ("configuration_cmt", "modeling_cmt", "processing_cmt")

# Exported (with `custom_pipelines`) for a model with a task head: a pretrained checkpoint would give it a random head.
PIPELINE_MODULE = "processing_cmt.pipeline_cmt"

# `custom_pipelines` key of a registered task: `pipeline()` treats a task named in the config's `custom_pipelines` as
# remote code and refuses it without `trust_remote_code=True`, even where cmt is installed and registers the same task
# name. Under another key, `pipeline("audio-text-sentiment", model=folder)` keeps using the installed code, while
# `pipeline(model=folder, trust_remote_code=True)` infers the (single) custom task where cmt is not installed.
REMOTE_TASK_PREFIX = "cmt-"

# The first lines of every flat module: nobody edits the copy, and an export recognises its own files by the first line
# (any other `.py` file of the same name in the folder is the user's and is never overwritten).
FLAT_MODULE_HEADER = (
    "# Flat copy of `{module}` for trust_remote_code, written by modeling_cmt.remote_code: its imports of the cmt\n"
    "# packages are rewritten to sibling imports. Edit the package, not this file.\n"
)
# also matches the copies modeling_cmt.hub_cmt wrote before this module existed
_FLAT_MODULE_FIRST_LINE = re.compile(r"# Flat copy of `[\w.]+` for trust_remote_code, written by modeling_cmt\.")

# import name -> distribution name, where they differ
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml", "PIL": "pillow"}


# --- flattening -----------------------------------------------------------------------------------------------------


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
    package `__init__` is imported from the module that defines it) under [`FLAT_MODULE_HEADER`], and the full names
    of the cmt modules it imports.

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
    return FLAT_MODULE_HEADER.format(module=module_name) + "".join(lines), list(dict.fromkeys(dependencies))


def _pipeline_module() -> str:
    """The pipeline module's name, imported so that it is registered with transformers' `PIPELINE_REGISTRY`."""
    importlib.import_module(PIPELINE_MODULE)
    return PIPELINE_MODULE


def remote_code_sources(include_pipeline: bool = True) -> dict[str, str]:
    """
    The flat modules of a CMT checkpoint: file name (`"modeling_cmt.py"`, ...) -> source with the imports between
    cmt packages rewritten to sibling imports. Starts from the modules of the config, the models, the processor and
    (if `include_pipeline`) the pipeline, and follows their imports of cmt modules.

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
    if include_pipeline:
        roots.append(_pipeline_module())
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
        sources[f"{flat}.py"], dependencies = flatten_module_source(module_name, *_module_source(module_name))
        queue.extend(dependencies)
    return sources


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


def _custom_pipelines() -> dict[str, dict]:
    """`custom_pipelines` entries for the tasks the pipeline module registered, as `Pipeline.save_pretrained` writes
    them (the implementation and the model classes by name)."""
    from transformers.pipelines import PIPELINE_REGISTRY

    pipeline_module = _pipeline_module()
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


# --- export into a folder -------------------------------------------------------------------------------------------


def _refuse_foreign_modules(save_directory: Path, file_names) -> None:
    """Raises when a file the export would write exists and is not a flat copy an export wrote (the user's own)."""
    for file_name in file_names:
        path = save_directory / file_name
        if not path.exists():
            continue
        with open(path, encoding="utf-8", errors="replace") as file:
            first_line = file.readline()
        if not _FLAT_MODULE_FIRST_LINE.match(first_line):
            raise ValueError(
                f"{path} exists and is not a flat module written by modeling_cmt.remote_code: exporting the remote "
                f"code would replace it with cmt's {file_name}. Move or rename it, or export into another folder."
            )


def _has_task_head(config: dict) -> bool:
    models = importlib.import_module(CMTModel.__module__)
    classes = [getattr(models, name, None) for name in config.get("architectures") or []]
    return any(isinstance(cls, type) and issubclass(cls, CMTForSequenceClassification) for cls in classes)


def _update_json(path: Path, key: str, entries: dict) -> None:
    """Merges `entries` into the dict `key` of a saved JSON config, formatted as transformers writes it."""
    content = json.loads(path.read_text(encoding="utf-8"))
    content[key] = {**(content.get(key) or {}), **entries}
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def export_remote_code(save_directory: str | os.PathLike, include_pipeline: bool | None = None) -> list[Path]:
    """
    Writes the flat remote-code modules into a saved CMT checkpoint folder and records `auto_map` (and
    `custom_pipelines`) in its `config.json` (and `auto_map` in its `processor_config.json`, when there is one), so
    that the folder loads with `AutoConfig`/`AutoModel`/`AutoModelForSequenceClassification`/
    `AutoModelForPreTraining`/`AutoProcessor` `.from_pretrained(folder, trust_remote_code=True)` and
    `pipeline(model=folder, trust_remote_code=True)` where cmt is not installed. Existing `auto_map` and
    `custom_pipelines` entries for other classes and tasks are kept.

    Args:
        save_directory (`str` or `os.PathLike`):
            A folder written by `model.save_pretrained` (it must hold a CMT `config.json`).
        include_pipeline (`bool`, *optional*):
            Whether to export the pipeline module and record it in `custom_pipelines`. Defaults to whether the saved
            model has a task head (`config.json`'s `architectures`).

    Returns:
        `list[Path]`: the modules written.

    Raises:
        `ValueError`: when the folder has no CMT `config.json`, or holds a `.py` file of an exported module's name
        that an export did not write (it is never overwritten).

    Example:

    ```python
    >>> from modeling_cmt.remote_code import export_remote_code

    >>> model.save_pretrained("cmt-ser")
    >>> processor.save_pretrained("cmt-ser")
    >>> export_remote_code("cmt-ser")  # or: python -m modeling_cmt.remote_code --model cmt-ser
    ```
    """
    save_directory = Path(save_directory)
    config_path = save_directory / "config.json"
    if not config_path.is_file():
        raise ValueError(
            f"{save_directory} has no config.json: save the model there first (`model.save_pretrained`), or use "
            "`save_pretrained_with_remote_code`."
        )
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("model_type") != CMTConfig.model_type:
        raise ValueError(
            f"{config_path} is a {config.get('model_type')!r} config, not a CMT ({CMTConfig.model_type!r}) one."
        )
    if include_pipeline is None:
        include_pipeline = _has_task_head(config)
    sources = remote_code_sources(include_pipeline=include_pipeline)
    _refuse_foreign_modules(save_directory, sources)

    written = []
    for file_name, source in sources.items():
        path = save_directory / file_name
        path.write_text(source, encoding="utf-8")
        written.append(path)
    auto_map = remote_code_auto_map()
    _update_json(config_path, "auto_map", auto_map)
    pipelines = _custom_pipelines() if include_pipeline else None
    if pipelines:
        _update_json(config_path, "custom_pipelines", pipelines)
    processor_config = save_directory / "processor_config.json"
    if processor_config.is_file():
        _update_json(processor_config, "auto_map", {"AutoProcessor": auto_map["AutoProcessor"]})
    return written


def save_pretrained_with_remote_code(
    model: CMTPreTrainedModel,
    save_directory: str | os.PathLike,
    processor: CMTProcessor | None = None,
    **kwargs,
) -> list[Path]:
    """
    `model.save_pretrained(save_directory)` (and `processor.save_pretrained`), then [`export_remote_code`]: a folder
    that loads with `trust_remote_code=True` where cmt is not installed. The pipeline module is exported for a model
    with a task head only (a pretrained checkpoint would give the pipeline a random head).

    Args:
        model ([`CMTPreTrainedModel`]): the model to save.
        save_directory (`str` or `os.PathLike`): the folder (created if missing).
        processor ([`CMTProcessor`], *optional*): saved beside the model; its `auto_map` names the flat
            `processing_cmt.py`.
        kwargs: passed to [`~transformers.PreTrainedModel.save_pretrained`] (`max_shard_size`, `is_main_process`,
            ...; not `push_to_hub`: publish with [`~modeling_cmt.hub.push_to_hub`]).

    Returns:
        `list[Path]`: the modules written.

    Raises:
        `ValueError`: before anything is written, when the folder holds a `.py` file of an exported module's name that
        an export did not write.
    """
    if not isinstance(model, CMTPreTrainedModel):
        raise ValueError(f"Expected a CMT model, got {type(model).__name__}.")
    if kwargs.get("push_to_hub"):
        raise ValueError(
            "push_to_hub would upload the folder before the remote code is written: use modeling_cmt.hub."
        )
    include_pipeline = isinstance(model, CMTForSequenceClassification)
    save_directory = Path(save_directory)
    _refuse_foreign_modules(save_directory, remote_code_sources(include_pipeline=include_pipeline))
    model.save_pretrained(save_directory, **kwargs)
    if not kwargs.get("is_main_process", True):
        return []
    if processor is not None:
        processor.save_pretrained(save_directory)
    return export_remote_code(save_directory, include_pipeline=include_pipeline)


def main(argv: list[str] | None = None) -> None:
    """`python -m modeling_cmt.remote_code --model DIR`: [`export_remote_code`] into a saved checkpoint folder."""
    parser = argparse.ArgumentParser(
        prog="python -m modeling_cmt.remote_code",
        description="Writes the flat remote-code modules and auto_map into a saved CMT checkpoint folder, which then "
        "loads with trust_remote_code=True where cmt is not installed.",
    )
    parser.add_argument("--model", required=True, help="folder written by `model.save_pretrained` (a CMT config)")
    pipeline = parser.add_mutually_exclusive_group()
    pipeline.add_argument(
        "--pipeline",
        dest="include_pipeline",
        action="store_true",
        default=None,
        help="export the pipeline module (default: if the model has a task head)",
    )
    pipeline.add_argument(
        "--no-pipeline", dest="include_pipeline", action="store_false", help="do not export the pipeline module"
    )
    args = parser.parse_args(argv)
    try:
        written = export_remote_code(args.model, include_pipeline=args.include_pipeline)
    except ValueError as error:
        parser.error(str(error))
    print(f"Wrote {', '.join(path.name for path in written)} and auto_map into {args.model}.")


if __name__ == "__main__":
    main()
