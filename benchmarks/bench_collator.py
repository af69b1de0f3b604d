# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Section 3: the collators' time per batch as a share of their training step."""

import statistics
from collections.abc import Callable
from typing import Any

from common import CLOCKS, timed


def median_call(function: Callable[[], Any], calls: int) -> dict[str, float]:
    function()  # warm-up
    samples = [timed(function) for _ in range(calls)]
    return {clock: statistics.median(s[clock] for s in samples) for clock in CLOCKS}


def collator_section(collators: dict, features: dict[str, list[dict]], training: dict, calls: int, timer: str):
    """Section 3: each collator on its unpadded examples, against its own training step."""
    fine = median_call(lambda: collators["fine_tuning"](features["fine_tuning"]), calls)
    pre = median_call(lambda: collators["pretraining"](features["pretraining"]), calls)
    fine_share = fine[timer] / training["cmt"]["time"]["step"]
    pre_share = pre[timer] / training["pretraining"]["time"]["step"]
    return {
        "batch_size": len(features["fine_tuning"]),
        "fine_tuning_collator_s": fine,
        "fine_tuning_share": fine_share,
        "pretraining_collator_s": pre,
        "pretraining_share": pre_share,
        "target": "collator time under 2% of the training step",
        "target_met": fine_share < 0.02 and pre_share < 0.02,
    }
