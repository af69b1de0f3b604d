# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Tests of the paper's metrics (`processing_cmt.metrics`): hand-computed cases and agreement with scikit-learn."""

import math
from functools import partial

import numpy as np
import pytest
import torch
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    recall_score,
)
from transformers import EvalPrediction

from processing_cmt import IEMOCAP_LABEL_NAMES
from processing_cmt.metrics import (
    aggregate_results,
    compute_sa_metrics,
    compute_ser_metrics,
    format_mean_std,
    format_results,
    sa_metrics,
    ser_confusion_matrix,
    ser_metrics,
)


# ---------------------------------------------------------------------------------------------------------------------
# SER (Table 1)
# ---------------------------------------------------------------------------------------------------------------------

SER_LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 3])
SER_PREDS = np.array([0, 0, 1, 1, 1, 2, 3, 3])


def test_ser_hand_computed():
    results = ser_metrics(SER_PREDS, SER_LABELS, label_names=IEMOCAP_LABEL_NAMES)
    assert results["wa"] == pytest.approx(6 / 8)
    assert results["ua"] == pytest.approx((2 / 3 + 1 + 1 / 2 + 1) / 4)
    # Per-class F1: angry p=1 r=2/3, happy p=2/3 r=1, neutral p=1 r=1/2, sad p=1/2 r=1.
    assert results["macro_f1"] == pytest.approx((0.8 + 0.8 + 2 / 3 + 2 / 3) / 4)
    for name in IEMOCAP_LABEL_NAMES:
        assert results[f"binary_acc_{name}"] == pytest.approx(7 / 8)
    assert results["recall_angry"] == pytest.approx(2 / 3)
    assert results["recall_neutral"] == pytest.approx(1 / 2)
    # One-vs-rest weighted F1 for angry: rest (5 true, all right: p=5/6, r=1), angry (3 true: p=1, r=2/3).
    rest_f1, angry_f1 = 2 * (5 / 6) / (5 / 6 + 1), 0.8
    assert results["binary_f1_angry"] == pytest.approx((5 * rest_f1 + 3 * angry_f1) / 8)
    assert all(isinstance(value, float) for value in results.values())
    expected_matrix = [[2, 1, 0, 0], [0, 2, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1]]
    assert ser_confusion_matrix(SER_PREDS, SER_LABELS, label_names=IEMOCAP_LABEL_NAMES).tolist() == expected_matrix


def test_ser_from_logits_and_eval_prediction():
    logits = np.full((len(SER_PREDS), 4), -1.0, dtype=np.float32)
    logits[np.arange(len(SER_PREDS)), SER_PREDS] = 2.0
    expected = ser_metrics(SER_PREDS, SER_LABELS, label_names=IEMOCAP_LABEL_NAMES)
    eval_pred = EvalPrediction(predictions=logits, label_ids=SER_LABELS)
    assert compute_ser_metrics(eval_pred, label_names=IEMOCAP_LABEL_NAMES) == expected
    # A model that returns more than logits: Trainer hands over a tuple with the logits first.
    with_extras = EvalPrediction(predictions=(logits, np.zeros((8, 3, 5))), label_ids=SER_LABELS)
    compute = partial(compute_ser_metrics, label_names=IEMOCAP_LABEL_NAMES)
    assert compute(with_extras) == expected
    assert compute((logits, SER_LABELS)) == expected
    assert ser_metrics(torch.from_numpy(logits), torch.from_numpy(SER_LABELS)) == {
        key.replace("angry", "0").replace("happy", "1").replace("neutral", "2").replace("sad", "3"): value
        for key, value in expected.items()
    }
    assert ser_confusion_matrix(eval_pred).tolist() == ser_confusion_matrix(SER_PREDS, SER_LABELS).tolist()


def test_ser_missing_class():
    # No true "sad": UA averages the recall of the classes present, recall_sad is NaN.
    labels = np.array([0, 1, 2, 2])
    predictions = np.array([0, 1, 2, 3])
    results = ser_metrics(predictions, labels, label_names=IEMOCAP_LABEL_NAMES)
    assert results["ua"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert math.isnan(results["recall_sad"])
    assert results["binary_acc_sad"] == pytest.approx(3 / 4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ser_agrees_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    num_labels = 4 + seed
    labels = rng.integers(0, num_labels, size=200)
    logits = rng.normal(size=(200, num_labels)) + 1.5 * np.eye(num_labels)[labels]
    predictions = logits.argmax(-1)
    results = ser_metrics(logits, labels)
    assert results["wa"] == pytest.approx(accuracy_score(labels, predictions))
    assert results["ua"] == pytest.approx(balanced_accuracy_score(labels, predictions))
    assert results["macro_f1"] == pytest.approx(f1_score(labels, predictions, average="macro"))
    assert results["weighted_f1"] == pytest.approx(f1_score(labels, predictions, average="weighted"))
    recalls = recall_score(labels, predictions, average=None, labels=list(range(num_labels)))
    for index in range(num_labels):
        assert results[f"recall_{index}"] == pytest.approx(recalls[index])
        true_c, predicted_c = labels == index, predictions == index
        assert results[f"binary_acc_{index}"] == pytest.approx(accuracy_score(true_c, predicted_c))
        assert results[f"binary_f1_{index}"] == pytest.approx(f1_score(true_c, predicted_c, average="weighted"))
    np.testing.assert_array_equal(
        ser_confusion_matrix(logits, labels), confusion_matrix(labels, predictions, labels=list(range(num_labels)))
    )


def test_ser_bad_input():
    with pytest.raises(ValueError, match="predictions have 3 items but labels have 4"):
        ser_metrics(np.array([0, 1, 2]), np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="predictions is empty"):
        ser_metrics(np.array([]), np.array([]))
    with pytest.raises(
        ValueError, match=r"labels has values outside the label set 0..3 .*\[4, 7\] at indices \[1, 3\]"
    ):
        ser_metrics(np.array([0, 1, 2, 3]), np.array([0, 4, 2, 7]), label_names=IEMOCAP_LABEL_NAMES)
    with pytest.raises(ValueError, match="labels has values outside the label set"):
        ser_metrics(np.zeros((2, 4)), np.array([0, -1]))
    with pytest.raises(ValueError, match="predictions has values outside the label set"):
        ser_metrics(np.array([0, 5]), np.array([0, 1]), label_names=IEMOCAP_LABEL_NAMES)
    with pytest.raises(ValueError, match="logits have 3 columns but num_labels=4"):
        ser_metrics(np.zeros((2, 3)), np.array([0, 1]), num_labels=4)
    with pytest.raises(ValueError, match="got 4 label_names for 3 classes"):
        ser_metrics(np.zeros((2, 3)), np.array([0, 1]), label_names=IEMOCAP_LABEL_NAMES)
    with pytest.raises(ValueError, match="non-integer values at indices \\[1\\]"):
        ser_metrics(np.array([0, 1]), np.array([0.0, 0.5]))
    with pytest.raises(ValueError, match="NaN or infinite values \\(at indices \\[1\\]\\)"):
        ser_metrics(np.array([[0.0, 1.0], [np.nan, 0.0]]), np.array([0, 1]))
    with pytest.raises(ValueError, match="EvalPrediction or a \\(predictions, labels\\) pair"):
        compute_ser_metrics(np.zeros(3))


# ---------------------------------------------------------------------------------------------------------------------
# SA (Table 2)
# ---------------------------------------------------------------------------------------------------------------------

SA_PREDS = np.array([2.6, -0.4, 0.0, 1.5, -3.5])
SA_LABELS = np.array([3.0, 0.0, -0.5, 2.5, -2.0])


def test_sa_hand_computed():
    results = sa_metrics(SA_PREDS, SA_LABELS)
    # Rounded clipped scores, halves to even as MulT's np.round: preds [3, 0, 0, 2, -3], labels [3, 0, 0, 2, -2].
    assert results["acc7"] == pytest.approx(4 / 5)
    # Clipped to [-2, 2]: preds [2, 0, 0, 2, -2], labels [2, 0, 0, 2, -2].
    assert results["acc5"] == pytest.approx(1.0)
    # Zero label excluded; the 0.0 prediction for a negative label counts as negative (not > 0).
    assert results["acc2_non0"] == pytest.approx(1.0)
    assert results["f1_non0"] == pytest.approx(1.0)
    # >= 0: preds [T, F, T, T, F] vs labels [T, T, F, T, F].
    assert results["acc2_has0"] == pytest.approx(3 / 5)
    assert results["f1_has0"] == pytest.approx((3 * (2 / 3) + 2 * 0.5) / 5)
    assert results["mae"] == pytest.approx((0.4 + 0.4 + 0.5 + 1.0 + 1.5) / 5)
    assert results["corr"] == pytest.approx(np.corrcoef(SA_PREDS, SA_LABELS)[0, 1])
    assert set(results) == {"acc7", "acc5", "acc2_non0", "f1_non0", "acc2_has0", "f1_has0", "mae", "corr"}


def _mult_eval_mosei_senti(predictions, labels):
    """MulT's `eval_mosei_senti` (src/eval_metrics.py), with the has-zero convention of later work added."""
    non_zeros = np.array([i for i, e in enumerate(labels) if e != 0])
    a7 = np.mean(np.round(np.clip(predictions, -3, 3)) == np.round(np.clip(labels, -3, 3)))
    a5 = np.mean(np.round(np.clip(predictions, -2, 2)) == np.round(np.clip(labels, -2, 2)))
    return {
        "acc7": a7,
        "acc5": a5,
        "acc2_non0": accuracy_score(labels[non_zeros] > 0, predictions[non_zeros] > 0),
        "f1_non0": f1_score(labels[non_zeros] > 0, predictions[non_zeros] > 0, average="weighted"),
        "acc2_has0": accuracy_score(labels >= 0, predictions >= 0),
        "f1_has0": f1_score(labels >= 0, predictions >= 0, average="weighted"),
        "mae": np.mean(np.abs(predictions - labels)),
        "corr": np.corrcoef(predictions, labels)[0][1],
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sa_agrees_with_mult_protocol(seed):
    rng = np.random.default_rng(seed)
    # MOSEI labels are averages of three integer ratings: thirds, with many exact zeros.
    labels = np.clip(np.round(rng.normal(0.3, 1.3, size=300) * 3) / 3, -3, 3)
    labels[:40] = 0.0
    predictions = (labels + rng.normal(0, 0.8, size=300)).astype(np.float32)
    expected = _mult_eval_mosei_senti(predictions.astype(np.float64), labels)
    results = sa_metrics(predictions[:, None], labels)  # a regression head's (N, 1) output
    for key, value in expected.items():
        assert results[key] == pytest.approx(value, abs=1e-9), key
    assert compute_sa_metrics(EvalPrediction(predictions=predictions[:, None], label_ids=labels)) == results


def test_sa_degenerate_cases_are_nan():
    results = sa_metrics(np.array([0.5, 0.5, 0.5]), np.array([0.0, 0.0, 0.0]))
    assert math.isnan(results["acc2_non0"]) and math.isnan(results["f1_non0"])
    assert math.isnan(results["corr"])
    assert results["acc2_has0"] == 1.0


def test_sa_bad_input():
    with pytest.raises(ValueError, match="predictions have 2 items but labels have 3"):
        sa_metrics(np.array([0.1, 0.2]), np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="labels is empty"):
        sa_metrics(np.array([0.1]), np.array([]))
    with pytest.raises(ValueError, match=r"labels outside the sentiment range \[-3, 3\]: \[3.5\] at indices \[1\]"):
        sa_metrics(np.array([0.1, 0.2]), np.array([0.1, 3.5]))
    with pytest.raises(ValueError, match="predictions has NaN or infinite values"):
        sa_metrics(np.array([0.1, np.inf]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="shape \\(N,\\) or \\(N, 1\\)"):
        sa_metrics(np.zeros((2, 3)), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="scalar"):
        sa_metrics(np.float32(1.0), np.array([0.1]))


# ---------------------------------------------------------------------------------------------------------------------
# Aggregation
# ---------------------------------------------------------------------------------------------------------------------


def test_aggregate_and_format():
    runs = [{"wa": 0.74, "ua": 0.75}, {"wa": 0.76, "ua": 0.77}, {"ua": 0.79, "wa": 0.75}]
    aggregated = aggregate_results(runs)
    assert list(aggregated) == ["wa", "ua"]
    assert aggregated["wa"]["mean"] == pytest.approx(0.75)
    assert aggregated["wa"]["std"] == pytest.approx(0.01)  # sample std of 0.74, 0.76, 0.75
    assert aggregated["ua"]["std"] == pytest.approx(np.std([0.75, 0.77, 0.79], ddof=1))
    assert aggregated["wa"]["n"] == 3
    assert aggregate_results(runs, ddof=0)["wa"]["std"] == pytest.approx(np.std([0.74, 0.76, 0.75]))
    assert format_results(aggregated) == {"wa": "0.750 ± 0.010", "ua": "0.770 ± 0.020"}
    assert format_mean_std(0.7512, 0.0123) == "0.751 ± 0.012"
    assert format_mean_std(0.7512, 0.0123, digits=2) == "0.75 ± 0.01"
    single = aggregate_results([{"wa": 0.7}])
    assert math.isnan(single["wa"]["std"])
    assert format_results(single) == {"wa": "0.700"}


def test_aggregate_real_metric_dicts():
    rng = np.random.default_rng(0)
    folds = []
    for _ in range(5):
        labels = rng.integers(0, 4, size=50)
        folds.append(ser_metrics(rng.integers(0, 4, size=50), labels, label_names=IEMOCAP_LABEL_NAMES))
    aggregated = aggregate_results(folds)
    assert set(aggregated) == set(folds[0])
    assert aggregated["wa"]["mean"] == pytest.approx(np.mean([fold["wa"] for fold in folds]))


def test_aggregate_bad_input():
    with pytest.raises(ValueError, match="no results"):
        aggregate_results([])
    with pytest.raises(ValueError, match=r"results\[1\] has different metrics than results\[0\]: missing \['ua'\]"):
        aggregate_results([{"wa": 0.7, "ua": 0.7}, {"wa": 0.7}])
    with pytest.raises(ValueError, match=r"results\[0\]\['wa'\] is not a number"):
        aggregate_results([{"wa": "0.7"}])


# ---------------------------------------------------------------------------------------------------------------------
# evaluate wrapper
# ---------------------------------------------------------------------------------------------------------------------


def test_evaluate_module_offline(tmp_path):
    import evaluate

    import processing_cmt.evaluate_cmt as evaluate_module
    from processing_cmt.evaluate_cmt import CMTMetric

    metric = CMTMetric("ser", cache_dir=str(tmp_path))
    metric.add_batch(predictions=SER_PREDS[:4], references=SER_LABELS[:4])
    metric.add_batch(predictions=SER_PREDS[4:], references=SER_LABELS[4:])
    assert metric.compute(label_names=IEMOCAP_LABEL_NAMES) == ser_metrics(SER_PREDS, SER_LABELS, IEMOCAP_LABEL_NAMES)

    loaded = evaluate.load(evaluate_module.__file__, "sa", cache_dir=str(tmp_path))
    assert loaded.compute(predictions=SA_PREDS, references=SA_LABELS) == pytest.approx(sa_metrics(SA_PREDS, SA_LABELS))
    with pytest.raises(ValueError, match="config must be 'ser' or 'sa'"):
        CMTMetric("accuracy", cache_dir=str(tmp_path))
