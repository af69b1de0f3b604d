# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""What the benchmark tests share: `benchmarks/` on `sys.path` (the driver's sibling modules, imported as the script
imports them), the committed results, and the one-thread fixture."""

import json
import sys
from pathlib import Path

import pytest
import torch


REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO_ROOT / "benchmarks"
SCRIPT = BENCHMARKS / "run_benchmarks.py"
sys.path.insert(0, str(BENCHMARKS))

STORED = json.loads((BENCHMARKS / "results" / "latest.json").read_text(encoding="utf-8"))
STORED_MARKDOWN = (BENCHMARKS / "results" / "latest.md").read_text(encoding="utf-8")
HEADINGS = (
    "## Targets",
    "## 1. Fine-tuning",
    "## 2. Pretraining",
    "## 3. Collator",
    "## 4. Inference",
    "## 5. Peak",
    "## 6. GPU: bf16 training throughput and MFU",
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One intra-op thread, as the driver pins by default: on a shared 2-core machine a second thread stalls at
    every OpenMP barrier and turned the tiny section-6 run from 3 s into 30 s."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
