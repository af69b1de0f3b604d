# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The paper's metrics ([`~processing_cmt.metrics`]) as an `evaluate` module, offline: instantiate it
(`CMTMetric("ser")`) or load this file (`evaluate.load("processing_cmt/evaluate_cmt.py", "sa")`).

Apart from `metrics` because `evaluate` and `datasets` cost seconds to import, which Trainer's `compute_metrics` and
the pipeline do not need.
"""

import datasets
import evaluate

from processing_cmt.metrics import sa_metrics, ser_metrics


__all__ = ["CMTMetric"]


class CMTMetric(evaluate.Metric):
    """
    The paper's metrics as an `evaluate` module. Config `"ser"` takes class ids (Table 1, see [`ser_metrics`]; pass
    `label_names=` to `compute`), `"sa"` takes sentiment scores (Table 2, see [`sa_metrics`]).
    """

    def _info(self):
        if self.config_name not in ("ser", "sa"):
            raise ValueError(f"CMTMetric config must be 'ser' or 'sa', got {self.config_name!r}.")
        value = datasets.Value("int64") if self.config_name == "ser" else datasets.Value("float64")
        return evaluate.MetricInfo(
            description="Speech emotion recognition (WA, UA, per-class binary accuracy, F1) and MulT-protocol "
            "sentiment metrics (Acc7, Acc5, Acc2, F1, MAE, Pearson r) of the CMT paper.",
            citation="",
            inputs_description="predictions and references: class ids ('ser') or sentiment scores ('sa').",
            features=datasets.Features({"predictions": value, "references": value}),
        )

    def _compute(self, predictions, references, label_names=None, num_labels=None):
        if self.config_name == "ser":
            return ser_metrics(predictions, references, label_names=label_names, num_labels=num_labels)
        return sa_metrics(predictions, references)
