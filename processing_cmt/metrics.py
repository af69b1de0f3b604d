# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""The paper's evaluation metrics (§4.1, Tables 1 and 2), usable as Trainer `compute_metrics` and from `evaluate`.

- Speech emotion recognition (IEMOCAP, §4.1.1, Table 1): weighted accuracy (WA, overall accuracy), unweighted
  accuracy (UA, mean per-class recall), per-class one-vs-rest binary accuracy (as MulT reports), macro-F1 and the
  confusion matrix.
- Sentiment analysis (CMU-MOSEI, §4.1.2, Table 2), MulT's protocol (`eval_mosei_senti` of Tsai et al., 2019): Acc7
  and Acc5 (rounded clipped scores), Acc2 and its weighted F1 in both conventions found in the literature, MAE and
  Pearson correlation.
- Aggregation over folds or seeds as mean ± std.

The metrics are computed with numpy from the confusion matrix; the tests check them against scikit-learn. The same
metrics as an `evaluate` module: [`~processing_cmt.evaluate_cmt.CMTMetric`].
"""

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .pipeline_cmt import SENTIMENT_RANGE, sentiment_classes


__all__ = [
    "aggregate_results",
    "compute_sa_metrics",
    "sentiment_classes",
    "compute_ser_metrics",
    "format_mean_std",
    "format_results",
    "sa_metrics",
    "ser_confusion_matrix",
    "ser_metrics",
]


# ---------------------------------------------------------------------------------------------------------------------
# Input checking
# ---------------------------------------------------------------------------------------------------------------------


def _unpack_eval_prediction(eval_pred: Any) -> tuple[Any, Any]:
    """(predictions, labels) from an `EvalPrediction` or a `(predictions, labels)` pair."""
    if hasattr(eval_pred, "predictions") and hasattr(eval_pred, "label_ids"):
        predictions, labels = eval_pred.predictions, eval_pred.label_ids
    elif isinstance(eval_pred, (tuple, list)) and len(eval_pred) == 2:
        predictions, labels = eval_pred
    else:
        raise ValueError(
            f"Expected an EvalPrediction or a (predictions, labels) pair, got {type(eval_pred).__name__}."
        )
    # A model returning more than its logits gives Trainer a tuple whose first element is the logits.
    if isinstance(predictions, (tuple, list)) and len(predictions) > 0 and isinstance(predictions[0], np.ndarray):
        predictions = predictions[0]
    if isinstance(labels, (tuple, list)) and len(labels) > 0 and isinstance(labels[0], np.ndarray):
        if len(labels) != 1:
            raise ValueError(f"Expected one label array, got {len(labels)} (several `label_names` in the Trainer?).")
        labels = labels[0]
    return predictions, labels


def _as_array(values: Any, what: str) -> np.ndarray:
    if hasattr(values, "detach"):  # torch tensors without importing torch here
        values = values.detach().cpu().float().numpy() if values.is_floating_point() else values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim == 0:
        raise ValueError(f"{what} must be an array with one entry per example, got a scalar {array!r}.")
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise ValueError(f"{what} must be numeric, got dtype {array.dtype}.")
    if array.size == 0:
        raise ValueError(f"{what} is empty: there is nothing to evaluate.")
    if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
        bad = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=-1))
        raise ValueError(f"{what} has NaN or infinite values (at indices {bad[:10].tolist()}).")
    return array


def _check_lengths(predictions: np.ndarray, labels: np.ndarray) -> None:
    if len(predictions) != len(labels):
        raise ValueError(f"predictions have {len(predictions)} items but labels have {len(labels)}.")


def _as_class_ids(values: np.ndarray, what: str) -> np.ndarray:
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise ValueError(f"{what} must be class ids of shape (N,) (or logits (N, num_labels)), got {values.shape}.")
    if not np.issubdtype(values.dtype, np.integer):
        if np.any(values != np.round(values)):
            bad = np.flatnonzero(values != np.round(values))
            raise ValueError(f"{what} must be integer class ids; non-integer values at indices {bad[:10].tolist()}.")
    return values.astype(np.int64)


def _check_in_label_set(ids: np.ndarray, num_labels: int, what: str, label_names: Sequence[str]) -> None:
    outside = (ids < 0) | (ids >= num_labels)
    if outside.any():
        positions = np.flatnonzero(outside)
        raise ValueError(
            f"{what} has values outside the label set 0..{num_labels - 1} ({list(label_names)}): "
            f"{sorted(set(ids[positions].tolist()))[:10]} at indices {positions[:10].tolist()}."
        )


def _classification_inputs(
    predictions: Any, labels: Any, label_names: Sequence[str] | None, num_labels: int | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Checks and converts SER inputs; logits `(N, C)` are reduced by argmax."""
    predictions = _as_array(predictions, "predictions")
    labels = _as_class_ids(_as_array(labels, "labels"), "labels")
    _check_lengths(predictions, labels)
    if predictions.ndim == 2 and predictions.shape[1] > 1:
        if num_labels is not None and num_labels != predictions.shape[1]:
            raise ValueError(f"logits have {predictions.shape[1]} columns but num_labels={num_labels}.")
        num_labels = predictions.shape[1]
        predictions = predictions.argmax(axis=-1).astype(np.int64)
    else:
        predictions = _as_class_ids(predictions, "predictions")
    if label_names is not None:
        label_names = [str(name) for name in label_names]
        if len(set(label_names)) != len(label_names):
            raise ValueError(f"label_names has duplicates: {label_names}.")
        if num_labels is not None and num_labels != len(label_names):
            raise ValueError(f"got {len(label_names)} label_names for {num_labels} classes: {label_names}.")
        num_labels = len(label_names)
    if num_labels is None:
        num_labels = int(max(labels.max(), predictions.max())) + 1
    if num_labels < 2:
        raise ValueError(f"classification needs at least 2 classes, got num_labels={num_labels}.")
    if label_names is None:
        label_names = [str(index) for index in range(num_labels)]
    _check_in_label_set(labels, num_labels, "labels", label_names)
    _check_in_label_set(predictions, num_labels, "predictions", label_names)
    return predictions, labels, label_names


def _regression_inputs(predictions: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    predictions = _as_array(predictions, "predictions").astype(np.float64)
    labels = _as_array(labels, "labels").astype(np.float64)
    # A one-output regression head gives (N, 1).
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        predictions = predictions[:, 0]
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if predictions.ndim != 1 or labels.ndim != 1:
        raise ValueError(
            f"sentiment predictions and labels must be scores of shape (N,) or (N, 1), got {predictions.shape} and "
            f"{labels.shape}."
        )
    _check_lengths(predictions, labels)
    low, high = SENTIMENT_RANGE
    outside = (labels < low) | (labels > high)
    if outside.any():
        positions = np.flatnonzero(outside)
        raise ValueError(
            f"labels outside the sentiment range [{low:g}, {high:g}]: {labels[positions][:10].tolist()} at indices "
            f"{positions[:10].tolist()}."
        )
    return predictions, labels


# ---------------------------------------------------------------------------------------------------------------------
# Confusion-matrix statistics
# ---------------------------------------------------------------------------------------------------------------------


def _confusion_matrix(predictions: np.ndarray, labels: np.ndarray, num_labels: int) -> np.ndarray:
    """(num_labels, num_labels), rows = true class, columns = predicted class (scikit-learn's convention)."""
    return np.bincount(labels * num_labels + predictions, minlength=num_labels * num_labels).reshape(
        num_labels, num_labels
    )


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    # An empty denominator gives 0, scikit-learn's `zero_division` default.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1), 0.0)


def _per_class_f1(matrix: np.ndarray) -> np.ndarray:
    true_positives = np.diag(matrix).astype(np.float64)
    precision = _safe_divide(true_positives, matrix.sum(axis=0))
    recall = _safe_divide(true_positives, matrix.sum(axis=1))
    return _safe_divide(2 * precision * recall, precision + recall)


def _weighted_f1(matrix: np.ndarray) -> float:
    """F1 averaged over classes weighted by their true counts (scikit-learn's `average="weighted"`)."""
    support = matrix.sum(axis=1)
    return float(np.sum(_per_class_f1(matrix) * support) / support.sum())


def _binary_matrix(predicted_positive: np.ndarray, true_positive: np.ndarray) -> np.ndarray:
    return _confusion_matrix(predicted_positive.astype(np.int64), true_positive.astype(np.int64), 2)


# ---------------------------------------------------------------------------------------------------------------------
# Speech emotion recognition (Table 1)
# ---------------------------------------------------------------------------------------------------------------------


def ser_metrics(
    predictions: Any,
    labels: Any,
    label_names: Sequence[str] | None = None,
    num_labels: int | None = None,
) -> dict[str, float]:
    """
    Speech emotion recognition metrics of Table 1.

    Args:
        predictions (`np.ndarray`):
            Logits `(N, num_labels)` (reduced by argmax) or predicted class ids `(N,)`.
        labels (`np.ndarray`):
            True class ids `(N,)`.
        label_names (`list[str]`, *optional*):
            Class names in id order (e.g. `processing_cmt.IEMOCAP_LABEL_NAMES`), used in the per-class keys.
            Defaults to `"0"`, `"1"`, ...
        num_labels (`int`, *optional*):
            Number of classes when neither logits nor `label_names` say it; otherwise inferred from the largest id.

    Returns:
        `dict[str, float]`:
        - `wa`: weighted accuracy, the overall accuracy.
        - `ua`: unweighted accuracy, the mean recall over the classes present in `labels` (scikit-learn's
          `balanced_accuracy_score`).
        - `macro_f1`, `weighted_f1`: F1 averaged over the classes present in `labels` or `predictions`.
        - `binary_acc_<name>`: one-vs-rest binary accuracy of each class, mean((pred == c) == (label == c)), the
          per-emotion accuracy of Table 1 (MulT's protocol).
        - `binary_f1_<name>`: weighted F1 of that one-vs-rest problem (MulT's per-emotion F1).
        - `recall_<name>`: recall of each class (NaN when the class has no true example).

    Raises:
        `ValueError`: for empty inputs, a length mismatch, NaN logits, non-integer ids, ids outside the label set, or
        `label_names`/logits/`num_labels` disagreeing on the number of classes.
    """
    predictions, labels, label_names = _classification_inputs(predictions, labels, label_names, num_labels)
    num_labels = len(label_names)
    matrix = _confusion_matrix(predictions, labels, num_labels)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    true_positives = np.diag(matrix)
    present = support > 0
    seen = present | (predicted > 0)
    recall = np.where(present, true_positives / np.maximum(support, 1), np.nan)
    f1 = _per_class_f1(matrix)
    total = len(labels)

    results = {
        "wa": float(true_positives.sum() / total),
        "ua": float(np.mean(recall[present])),
        "macro_f1": float(np.mean(f1[seen])),
        "weighted_f1": _weighted_f1(matrix),
    }
    for index, name in enumerate(label_names):
        predicted_c, true_c = predictions == index, labels == index
        results[f"binary_acc_{name}"] = float(np.mean(predicted_c == true_c))
        results[f"binary_f1_{name}"] = _weighted_f1(_binary_matrix(predicted_c, true_c))
    for index, name in enumerate(label_names):
        results[f"recall_{name}"] = float(recall[index])
    return results


def ser_confusion_matrix(
    predictions: Any,
    labels: Any | None = None,
    label_names: Sequence[str] | None = None,
    num_labels: int | None = None,
) -> np.ndarray:
    """
    Confusion matrix of a speech emotion recognition evaluation.

    Args:
        predictions (`np.ndarray` or `EvalPrediction`):
            Logits `(N, num_labels)` or class ids `(N,)`; or an `EvalPrediction` / `(predictions, labels)` pair when
            `labels` is not given.
        labels (`np.ndarray`, *optional*):
            True class ids `(N,)`.
        label_names (`list[str]`, *optional*):
            Class names in id order; fixes the number of classes.
        num_labels (`int`, *optional*):
            Number of classes, when neither logits nor `label_names` say it.

    Returns:
        `np.ndarray`: int64 `(num_labels, num_labels)`; entry `[i, j]` counts examples of true class `i` predicted as
        `j` (scikit-learn's convention).
    """
    if labels is None:
        predictions, labels = _unpack_eval_prediction(predictions)
    predictions, labels, label_names = _classification_inputs(predictions, labels, label_names, num_labels)
    return _confusion_matrix(predictions, labels, len(label_names))


def compute_ser_metrics(eval_pred: Any, label_names: Sequence[str] | None = None) -> dict[str, float]:
    """
    [`ser_metrics`] as a Trainer `compute_metrics`: `Trainer(..., compute_metrics=partial(compute_ser_metrics,
    label_names=processing_cmt.IEMOCAP_LABEL_NAMES))`.

    Args:
        eval_pred (`EvalPrediction` or `tuple`):
            Logits (or the model's output tuple, whose first element is the logits) and label ids.
        label_names (`list[str]`, *optional*):
            Class names in id order.

    Returns:
        `dict[str, float]`: see [`ser_metrics`].
    """
    predictions, labels = _unpack_eval_prediction(eval_pred)
    return ser_metrics(predictions, labels, label_names=label_names)


# ---------------------------------------------------------------------------------------------------------------------
# Sentiment analysis (Table 2)
# ---------------------------------------------------------------------------------------------------------------------


def _multiclass_accuracy(predictions: np.ndarray, labels: np.ndarray, bound: float) -> float:
    # MulT's `multiclass_acc` on clipped, rounded scores
    return float(np.mean(sentiment_classes(predictions, bound) == sentiment_classes(labels, bound)))


def _pearson(predictions: np.ndarray, labels: np.ndarray) -> float:
    centered_predictions = predictions - predictions.mean()
    centered_labels = labels - labels.mean()
    denominator = np.sqrt(np.sum(centered_predictions**2) * np.sum(centered_labels**2))
    # Undefined for constant predictions or labels (e.g. a collapsed model early in training).
    if denominator == 0:
        return float("nan")
    return float(np.sum(centered_predictions * centered_labels) / denominator)


def sa_metrics(predictions: Any, labels: Any) -> dict[str, float]:
    """
    Sentiment analysis metrics of Table 2, following MulT's `eval_mosei_senti`.

    Args:
        predictions (`np.ndarray`):
            Predicted sentiment scores, `(N,)` or `(N, 1)`.
        labels (`np.ndarray`):
            True scores in [-3, 3], `(N,)` or `(N, 1)`.

    Returns:
        `dict[str, float]`:
        - `acc7`: accuracy of round(clip(score, -3, 3)), 7 classes.
        - `acc5`: accuracy of round(clip(score, -2, 2)), 5 classes.
        - `acc2_non0`, `f1_non0`: negative (< 0) vs positive (> 0) with the examples whose true score is 0
          excluded; a prediction counts as positive when > 0. This is the paper's Acc2 / F1 (§4.1.2: [-3, 0) vs
          (0, 3]) and MulT's `exclude_zero=True`. NaN when every true score is 0.
        - `acc2_has0`, `f1_has0`: negative (< 0) vs non-negative (>= 0) over all examples.
        - `mae`: mean absolute error of the raw scores.
        - `corr`: Pearson correlation of the raw scores (NaN when either side is constant).
        The F1 scores are weighted by class support (scikit-learn's `average="weighted"`, as MulT).

    Raises:
        `ValueError`: for empty inputs, a length mismatch, NaN/infinite values, wrong shapes, or labels outside
        [-3, 3].
    """
    predictions, labels = _regression_inputs(predictions, labels)
    non_zero = labels != 0
    if non_zero.any():
        matrix_non0 = _binary_matrix(predictions[non_zero] > 0, labels[non_zero] > 0)
        acc2_non0 = float(np.trace(matrix_non0) / matrix_non0.sum())
        f1_non0 = _weighted_f1(matrix_non0)
    else:
        acc2_non0 = f1_non0 = float("nan")
    matrix_has0 = _binary_matrix(predictions >= 0, labels >= 0)
    return {
        "acc7": _multiclass_accuracy(predictions, labels, 3.0),
        "acc5": _multiclass_accuracy(predictions, labels, 2.0),
        "acc2_non0": acc2_non0,
        "f1_non0": f1_non0,
        "acc2_has0": float(np.trace(matrix_has0) / matrix_has0.sum()),
        "f1_has0": _weighted_f1(matrix_has0),
        "mae": float(np.mean(np.abs(predictions - labels))),
        "corr": _pearson(predictions, labels),
    }


def compute_sa_metrics(eval_pred: Any) -> dict[str, float]:
    """
    [`sa_metrics`] as a Trainer `compute_metrics`.

    Args:
        eval_pred (`EvalPrediction` or `tuple`):
            Predicted scores `(N,)`/`(N, 1)` (or the model's output tuple, scores first) and true scores.

    Returns:
        `dict[str, float]`: see [`sa_metrics`].
    """
    predictions, labels = _unpack_eval_prediction(eval_pred)
    return sa_metrics(predictions, labels)


# ---------------------------------------------------------------------------------------------------------------------
# Aggregation over folds and seeds
# ---------------------------------------------------------------------------------------------------------------------


def aggregate_results(results: Sequence[Mapping[str, float]], ddof: int = 1) -> dict[str, dict[str, float]]:
    """
    Mean and standard deviation of each metric over runs (the 5 IEMOCAP folds, several seeds, ...).

    Args:
        results (`list[dict[str, float]]`):
            One flat metrics dict per run, all with the same keys.
        ddof (`int`, *optional*, defaults to 1):
            Delta degrees of freedom of the standard deviation: 1 is the sample standard deviation, 0 the
            population one. With no more runs than `ddof` the std is NaN.

    Returns:
        `dict[str, dict[str, float]]`: metric name → `{"mean", "std", "n"}`, keys in the order of the first run.

    Raises:
        `ValueError`: for no runs, runs with different keys, or non-numeric values.
    """
    if len(results) == 0:
        raise ValueError("aggregate_results got no results.")
    names = list(results[0].keys())
    for index, run in enumerate(results):
        if set(run.keys()) != set(names):
            missing = sorted(set(names) - set(run.keys()))
            extra = sorted(set(run.keys()) - set(names))
            raise ValueError(
                f"results[{index}] has different metrics than results[0]: missing {missing}, extra {extra}."
            )
        for name, value in run.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"results[{index}][{name!r}] is not a number: {value!r}.")
    aggregated = {}
    for name in names:
        values = np.array([float(run[name]) for run in results], dtype=np.float64)
        std = float(np.std(values, ddof=ddof)) if len(values) > ddof else float("nan")
        aggregated[name] = {"mean": float(np.mean(values)), "std": std, "n": len(values)}
    return aggregated


def format_mean_std(mean: float, std: float, digits: int = 3) -> str:
    """
    `"0.751 ± 0.012"`; just `"0.751"` when the std is NaN (a single run).

    Args:
        mean (`float`): The mean.
        std (`float`): The standard deviation.
        digits (`int`, *optional*, defaults to 3): Decimals, as in the paper's tables.

    Returns:
        `str`
    """
    if std is None or np.isnan(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def format_results(aggregated: Mapping[str, Mapping[str, float]], digits: int = 3) -> dict[str, str]:
    """
    Formats the output of [`aggregate_results`] for a table or a log line.

    Args:
        aggregated (`dict[str, dict[str, float]]`): Output of [`aggregate_results`].
        digits (`int`, *optional*, defaults to 3): Decimals.

    Returns:
        `dict[str, str]`: metric name → `"mean ± std"`.
    """
    return {name: format_mean_std(stats["mean"], stats["std"], digits) for name, stats in aggregated.items()}
