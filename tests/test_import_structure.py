# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The package's import graph (docs/architecture.md): dependencies point one way, from the configuration up to the
training tools, and `import modeling_cmt` loads the model without the data stack.

The graph is read from the sources (module-level imports, what runs at import time); imports inside functions are
left out on purpose: they run on first use, like `processing_cmt`'s lazily imported training tools.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("configuration_cmt", "modeling_cmt", "processing_cmt")

# Each inner module's layer; a module may import its own layer and the layers below, never above.
LAYERS = {
    "configuration_cmt.configuration_cmt": 0,
    "modeling_cmt.modeling_cmt": 1,
    "modeling_cmt.version": 1,
    "processing_cmt.audio_utils": 2,
    "processing_cmt.processing_cmt": 2,
    "processing_cmt.pipeline_cmt": 2,
    "processing_cmt.asr_backends": 2,
    "processing_cmt.long_audio": 2,
    "processing_cmt.timeline": 2,
    "processing_cmt.timeline_cli": 3,  # the `cmt-timeline` console script, on top of the pipeline
    # training tools
    "processing_cmt.data_collator": 3,
    "processing_cmt.codebook": 3,
    "processing_cmt.codebook_provenance": 3,
    "processing_cmt.frame_features": 3,
    "processing_cmt.metrics": 3,
    "processing_cmt.evaluate_cmt": 3,
    "processing_cmt.tokenizer_training": 3,
    "processing_cmt.corpora": 3,
    # publishing: depends on the model and the processor, never the reverse
    "modeling_cmt.remote_code": 4,
    "modeling_cmt.model_card": 4,
    "modeling_cmt.hub": 4,
    "modeling_cmt.onnx": 4,
}
LAYER_NAMES = ["configuration", "modeling", "processing", "training tools", "Hub publishing"]

# What `import modeling_cmt` must not load: the data and training stack.
HEAVY_MODULES = ("sklearn", "datasets", "pyarrow", "librosa", "evaluate", "h5py")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {_module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """module -> the cmt modules it imports at import time (top-level statements, `if` / `try` blocks included)."""
    sources = _sources()
    graph = {}
    for module, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = set()
        statements = list(tree.body)
        while statements:
            node = statements.pop()
            if isinstance(node, (ast.If, ast.Try)):
                statements.extend(node.body + node.orelse + getattr(node, "finalbody", []))
                statements.extend(h for handler in getattr(node, "handlers", []) for h in handler.body)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, path.name == "__init__.py", node)
                names = [f"{target}.{alias.name}" for alias in node.names]
                targets.update(name if name in sources else target for name in names)
        graph[module] = {t for t in targets if t.split(".")[0] in PACKAGES and t != module}
    return graph


def _layer(module: str, graph: dict[str, set[str]] | None = None) -> int | None:
    """An inner module's layer; a package's is the highest of what its `__init__` imports (importing the package
    runs them)."""
    if module in PACKAGES:
        graph = import_graph() if graph is None else graph
        return max((_layer(t, graph) for t in graph[module] if t != module), default=0)
    for prefix, layer in sorted(LAYERS.items(), key=lambda item: -len(item[0])):
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def test_every_inner_module_has_a_layer():
    unplaced = [m for m in import_graph() if m not in PACKAGES and _layer(m) is None]
    assert not unplaced, f"modules without a layer in LAYERS (add them): {unplaced}"


def test_dependencies_point_one_way():
    graph = import_graph()
    wrong = []
    for module, targets in graph.items():
        if module in PACKAGES:
            continue  # a package __init__ re-exports and registers: its layer is what it imports
        for target in targets:
            if _layer(target, graph) > _layer(module):
                wrong.append(
                    f"{module} ({LAYER_NAMES[_layer(module)]}) imports {target} ({LAYER_NAMES[_layer(target, graph)]})"
                )
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = import_graph()
    state, cycles = {}, []

    def visit(module, stack):
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join(stack[stack.index(target) :] + [target]))
            elif target in graph and target not in state:
                visit(target, stack + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_model_package_registers_without_the_training_tools():
    """`modeling_cmt/__init__` imports the model and, for registration, only `processing_cmt`'s light modules."""
    graph = import_graph()
    assert graph["processing_cmt"] <= {
        "configuration_cmt",
        "processing_cmt.audio_utils",
        "processing_cmt.pipeline_cmt",
        "processing_cmt.processing_cmt",
    }
    assert all(_layer(t) in (None, 0, 1, 2) for t in graph["modeling_cmt"]), graph["modeling_cmt"]


@pytest.mark.parametrize(
    "statement", ["import modeling_cmt", "from processing_cmt import CMTProcessor, AudioTextSentimentPipeline"]
)
def test_light_import(statement):
    """In a fresh interpreter: registration happens, and nothing of the data stack is loaded."""
    code = (
        f"import sys; {statement}\n"
        "from transformers import AutoProcessor\n"
        "from transformers.pipelines import PIPELINE_REGISTRY\n"
        "import configuration_cmt, processing_cmt\n"
        "assert 'audio-text-sentiment' in PIPELINE_REGISTRY.get_supported_tasks()\n"
        f"print(' '.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", f"`{statement}` loads {result.stdout.strip()}"


def test_training_tools_still_import_from_the_package():
    """The public names stay where they were (`from processing_cmt import load_iemocap`), imported on first use."""
    import processing_cmt

    for name in processing_cmt.__all__:
        assert getattr(processing_cmt, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        processing_cmt.not_a_name  # noqa: B018
