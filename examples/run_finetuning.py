# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Fine-tuning and evaluation of CMT (§3.4, §4.2.2) for speech emotion recognition (IEMOCAP, Table 1) and sentiment
analysis (CMU-MOSEI, Table 2), with the paper's comparison rows (Tables 1, 2 and 4) as configurations.

SER on one IEMOCAP leave-one-session-out fold, from a pretrained + task-adapted CMT, with the paper's recipe (Adam,
lr 1e-5, effective batch 16, 25 epochs, α = 10; best checkpoint by UA on a validation speaker held out of the training
sessions):

    accelerate launch examples/run_finetuning.py --task ser --model_name_or_path runs/cmt-base-tapt-fold1 \
        --iemocap_root /data/IEMOCAP_full_release --fold 1 --output_dir runs/cmt-base-iemocap-fold1

All five folds in one run, reported as mean ± std. `{fold}` in `--model_name_or_path` is replaced by the fold number,
so that each fold starts from its own TAPT checkpoint, which never saw that fold's test session:

    accelerate launch examples/run_finetuning.py --task ser --model_name_or_path runs/cmt-base-tapt-fold{fold} \
        --iemocap_root /data/IEMOCAP_full_release --all_folds --output_dir runs/cmt-base-iemocap

SA on CMU-MOSEI's standard split (the MMSA layout here; `--mosei_labels`, `--mosei_audio_dir`,
`--mosei_transcripts_dir` and `--mosei_folds` read the CMU-MultimodalSDK release), best checkpoint by MAE on the valid
fold:

    accelerate launch examples/run_finetuning.py --task sa --model_name_or_path runs/cmt-base-tapt-mosei \
        --mosei_mmsa_root /data/MOSEI --output_dir runs/cmt-base-mosei

Any other labelled audio + text data: `--corpus` (a dataset saved with `save_to_disk` with train / validation / test
splits, or a CSV manifest with a `split` column) or `--train_file`, `--validation_file`, `--test_file` (CSV manifests),
with `--label_column` holding class names (SER) or scores in [-3, 3] (SA).

Every row of the paper's tables is one command (B = `--text_model FacebookAI/roberta-large --audio_model
facebook/hubert-large-ll60k`; PT, TAPT = checkpoints of `run_pretraining.py`):

    RoBERTa / HuBERT (Tables 1-2)   B --baseline text_only   /   B --baseline audio_only
    Shallow-Fusion (Tables 1-2)     B --baseline shallow_fusion
    CMT-4 w/o PT (Table 4)          B --preset cmt-large --ortho_loss_weight 0
    CMT-4 PT                        --model_name_or_path <cmt-large PT> --ortho_loss_weight 0
    CMT-4 PT + TAPT                 --model_name_or_path <cmt-large PT + TAPT> --ortho_loss_weight 0
    CMT-4 PT + Layer pooler         --model_name_or_path <cmt-large PT> --ortho_loss_weight 0 \
                                        --audio_layer_pooling weighted
    CMT-4 PT + Ortho                --model_name_or_path <cmt-large PT>                 (α = 10 is the default)
    CMT Base / CMT Large            --model_name_or_path <cmt-base / cmt-large PT + TAPT>

Written to `--output_dir`: `results.json`, `results.md` (laid out like Table 1 or Table 2), `confusion_matrix.png`
(SER) or `predictions_scatter.png` (SA), `test_predictions.csv`, and the fine-tuned model and processor with a filled
model card (`README.md`). With `--all_folds`, each fold's run goes to `fold-<N>/` and the aggregate to `--output_dir`.
An `--output_dir` that holds a run is refused, naming what is there, unless `--resume_from_checkpoint` continues it or
`--overwrite_output_dir` replaces it.
"""

import dataclasses
import gc
import logging
import os
import sys
from functools import partial
from pathlib import Path

import numpy as np
from transformers import set_seed


sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # a source checkout, uninstalled

from cmt_arguments import (  # noqa: E402
    check_finetuning_arguments,
    checkpoint_path,
    parse_finetuning_arguments,
    run_folds,
)
from cmt_data import load_task_data, prepare_features  # noqa: E402
from cmt_reporting import (  # noqa: E402
    combine_folds,
    corpus_on_card,
    describe_model,
    describe_run,
    describe_training,
    finetuning_summary,
    metrics_only,
    model_provenance,
    plot_confusion_matrix,
    write_reports,
    write_results,
)
from cmt_training import (  # noqa: E402
    NON_PREDICTION_OUTPUTS,
    CMTTrainer,
    build_finetuning_model,
    method_name,
    setup_logging,
)

from processing_cmt import (  # noqa: E402
    DataCollatorForCMT,
    compute_sa_metrics,
    compute_ser_metrics,
    ser_confusion_matrix,
)


logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> dict:
    """Fine-tunes on the task's split (each IEMOCAP fold's), evaluates the best checkpoint on validation and test,
    writes the model and the reports. Returns the results, as in `results.json` (`--all_folds`: mean ± std)."""
    model_args, data_args, training_args = parse_finetuning_arguments(argv)
    task = data_args.task

    # 1. logging, and every argument error before anything heavy is loaded
    setup_logging(training_args)
    check_finetuning_arguments(model_args, data_args, training_args)
    logger.info(f"Task {task}; training arguments {training_args}")

    # 2.-7. one run per fold (IEMOCAP --all_folds: five, one after the other, each in fold-<N>/)
    folds = run_folds(data_args)
    runs = []
    for number, fold in enumerate(folds, start=1):
        run_args = training_args
        if len(folds) > 1:
            logger.info(f"*** Fold {fold} ({number}/{len(folds)}) ***")
            run_args = dataclasses.replace(
                training_args, output_dir=os.path.join(training_args.output_dir, f"fold-{fold}")
            )
        set_seed(run_args.seed)

        # 2. data, labels checked; 3. model: every input error surfaces here, before the slow preprocessing
        data = load_task_data(data_args, fold)
        model, processor = build_finetuning_model(model_args, task, data.label_names, fold)
        method = method_name(model_args, model.config)
        logger.info(f"{method} on {data.description}: " + ", ".join(f"{s} {len(d)}" for s, d in data.corpus.items()))

        # 4. tokenise, lengths from the file headers (long training utterances dropped whole, never cut); the audio
        #    is decoded as batches are read. The test ids and transcripts go to the predictions file
        test_rows = data.corpus["test"].select_columns(
            [c for c in ("id", "text") if c in data.corpus["test"].column_names]
        )
        features = prepare_features(data, processor, run_args, data_args)

        # 5. train, keeping the best checkpoint on the validation split
        if task == "ser":
            compute_metrics = partial(compute_ser_metrics, label_names=data.label_names)
        else:
            compute_metrics = compute_sa_metrics
        trainer = CMTTrainer(
            model=model,
            args=run_args,
            train_dataset=features["train"],
            eval_dataset=features["validation"],
            data_collator=DataCollatorForCMT(processor.tokenizer),
            processing_class=processor,
            compute_metrics=compute_metrics,
            max_batch_audio_seconds=data_args.max_batch_audio_seconds,
        )
        logger.info(f"{method}: " + describe_run(run_args, len(features["train"])))
        train_result = trainer.train(
            resume_from_checkpoint=run_args.resume_from_checkpoint, ignore_keys_for_eval=NON_PREDICTION_OUTPUTS
        )
        trainer.save_model()  # the best checkpoint (loaded back at the end of training) and the processor
        trainer.save_state()

        # 6. evaluate it on the validation split and on the held-out test split
        validation = trainer.evaluate(ignore_keys=NON_PREDICTION_OUTPUTS)
        prediction = trainer.predict(features["test"], ignore_keys=NON_PREDICTION_OUTPUTS, metric_key_prefix="test")
        trainer.log_metrics("test", prediction.metrics)
        run = {
            "task": task,
            "method": method,
            "baseline": model_args.baseline,
            "fold": fold,
            "data": data.description,
            "num_examples": {split: len(dataset) for split, dataset in features.items()},
            "label_names": data.label_names,
            "model": describe_model(model_args, model.config, checkpoint_path(model_args, fold)),
            # what the model card says made the model: backbones / checkpoint lineage and data, no local paths
            "provenance": model_provenance(model.config, checkpoint_path(model_args, fold), corpus_on_card(data_args)),
            "training": describe_training(run_args, trainer, train_result),
            "validation": metrics_only(validation, "eval_"),
            "test": metrics_only(prediction.metrics, "test_"),
        }
        if task == "ser":
            matrix = ser_confusion_matrix(prediction.predictions, prediction.label_ids, label_names=data.label_names)
            run["confusion_matrix"] = matrix.tolist()

        # 7. reports and the model card next to the model
        if trainer.is_world_process_zero():
            write_reports(Path(run_args.output_dir), run, prediction, test_rows, model.config, run_args)
        runs.append(run)
        del trainer, model
        gc.collect()

    # 8. the folds' mean ± std, and where the results went
    output_dir = Path(training_args.output_dir)
    results = combine_folds(runs) if len(runs) > 1 else runs[0]
    if len(runs) > 1 and training_args.process_index == 0:
        write_results(output_dir, results)
        title = f"{results['method']}, {len(runs)} folds"
        plot_confusion_matrix(np.array(results["confusion_matrix"]), results["label_names"], output_dir, title)
    print(finetuning_summary(results, output_dir))
    return results


if __name__ == "__main__":
    main()
