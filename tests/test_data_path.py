"""The scripts' data path (issue #11, §2-§3): a transcript always comes with all of its audio (long training utterances
are dropped whole, never cut, and the log says how many); lengths come from file headers; the prepared corpus holds
token ids, lengths and paths, and the audio is decoded as batches are read; training batches can hold a bounded
amount of padded audio, the same number of them on every process."""

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from testing_utils import synthetic_waveform, write_wav_file
from transformers import TrainingArguments


REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples"))

import cmt_data  # noqa: E402
from cmt_arguments import PretrainingDataArguments  # noqa: E402
from cmt_training import AudioBudgetBatchSampler, CMTTrainer, SeededSamplerEpoch  # noqa: E402
from datasets import Dataset, DatasetDict  # noqa: E402

from processing_cmt import load_audio  # noqa: E402


SR = 16000
TEXTS = ["I am so happy to see you today!", "This is terrible, I hate it.", "The movie was okay, nothing special."]


@pytest.fixture
def training_args(tmp_path):
    return TrainingArguments(str(tmp_path / "out"), report_to="none", use_cpu=True)


def corpus_of(tmp_path, seconds_per_split: dict[str, list[float]]) -> DatasetDict:
    splits = {}
    for split, durations in seconds_per_split.items():
        paths = [
            str(write_wav_file(tmp_path / f"{split}-{index}.flac", seconds=seconds, seed=index))
            for index, seconds in enumerate(durations)
        ]
        texts = [TEXTS[index % len(TEXTS)] for index in range(len(durations))]
        splits[split] = Dataset.from_dict({"audio": paths, "text": texts, "speaker": ["s"] * len(paths)})
    return DatasetDict(splits)


def test_long_training_utterances_are_dropped_with_their_transcripts_never_cut(
    tmp_path, tiny_processor, training_args, caplog
):
    corpus = corpus_of(tmp_path, {"train": [0.5, 2.0, 1.0, 1.5], "validation": [0.5, 2.0], "test": [2.0]})
    data_args = PretrainingDataArguments(max_audio_seconds=1.0)
    with caplog.at_level(logging.INFO, logger="cmt_data"):
        prepared = cmt_data.preprocess_corpus(corpus, tiny_processor, training_args, data_args)
    assert "train: 2 of 4 utterances longer than 1 s dropped with their transcripts" in caplog.text
    assert "validation: 2 utterances" in caplog.text and "all kept whole" in caplog.text
    decoded = cmt_data.with_audio_decoding(prepared, tiny_processor)

    # the kept training utterances are whole and keep their own transcripts
    train = decoded["train"]
    assert [len(example["input_values"]) for example in train] == [8000, 16000]
    assert [example["input_ids"] for example in train] == tiny_processor(text=[TEXTS[0], TEXTS[2]], padding=False)[
        "input_ids"
    ]
    # evaluation splits are never filtered nor cut: they are what the pipeline sees
    assert [len(example["input_values"]) for example in decoded["validation"]] == [8000, 32000]
    assert [len(example["input_values"]) for example in decoded["test"]] == [32000]

    # without a limit nothing is dropped, and nothing is cut
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="cmt_data"):
        whole = cmt_data.preprocess_corpus(corpus, tiny_processor, training_args, PretrainingDataArguments())
    assert list(whole["train"]["length"]) == [8000, 32000, 16000, 24000]
    assert "train: 4 utterances" in caplog.text and "longest 2.0 s), all kept whole" in caplog.text


@pytest.mark.parametrize(
    "limit, message", [(0.1, "Nothing is left to train on"), (0.0, "positive"), (-1.0, "positive")]
)
def test_limits_that_leave_nothing_are_refused(tmp_path, tiny_processor, training_args, limit, message):
    corpus = corpus_of(tmp_path, {"train": [0.5, 1.0]})
    with pytest.raises(ValueError, match=message):
        cmt_data.preprocess_corpus(
            corpus, tiny_processor, training_args, PretrainingDataArguments(max_audio_seconds=limit)
        )


def test_processor_refuses_to_cut_the_audio_of_a_transcript(tmp_path, tiny_processor):
    long_file = write_wav_file(tmp_path / "long.wav", seconds=2.0)
    with pytest.raises(ValueError, match=r"audio \(.*long.wav\) lasts 2.00 s, longer than max_audio_seconds=1"):
        tiny_processor(text=TEXTS[0], audio=str(long_file), max_audio_seconds=1.0)
    with pytest.raises(ValueError, match=r"audio\[1\] .* lasts 2.00 s"):
        tiny_processor(text=TEXTS[:2], audio=[synthetic_waveform(0.5), str(long_file)], sampling_rate=SR,
                       max_audio_seconds=1.0)  # fmt: skip
    # within the limit, the pair passes whole; audio alone may still be cut (nothing is paired with it)
    pair = tiny_processor(text=TEXTS[0], audio=str(long_file), max_audio_seconds=2.0, return_tensors="np")
    assert pair["input_values"].shape == (1, 32000)
    assert tiny_processor(audio=str(long_file), max_audio_seconds=1.0, return_tensors="np")["input_values"].shape == (
        1,
        16000,
    )


def test_lengths_come_from_headers_as_the_processor_resamples(tmp_path, tiny_processor, training_args, monkeypatch):
    """Every kind of audio input, at rates that resample to uneven counts: the header's count is the decoded one."""
    files = [
        write_wav_file(tmp_path / "16k.flac", seconds=0.77, sampling_rate=16000),
        write_wav_file(tmp_path / "8k.wav", seconds=0.51, sampling_rate=8000),
        write_wav_file(tmp_path / "22k.wav", seconds=0.3331, sampling_rate=22050),
        write_wav_file(tmp_path / "44k.flac", seconds=0.4999, sampling_rate=44100),
        write_wav_file(tmp_path / "48k-stereo.wav", seconds=0.25, sampling_rate=48000, channels=2),
    ]
    kinds = {  # one split per kind of audio input: paths, undecoded `datasets.Audio` dicts, arrays
        "train": [str(path) for path in files],
        "validation": [{"path": None, "bytes": files[2].read_bytes()}],
        "test": [{"array": synthetic_waveform(0.3, 8000), "sampling_rate": 8000}],
    }
    corpus = DatasetDict(
        {
            split: Dataset.from_dict({"audio": audios, "text": [TEXTS[0]] * len(audios)})
            for split, audios in kinds.items()
        }
    )
    expected = {split: [len(load_audio(audio, SR)) for audio in audios] for split, audios in kinds.items()}

    def no_decoding(*args, **kwargs):
        raise AssertionError("preprocessing decoded audio")

    monkeypatch.setattr(sf, "read", no_decoding)
    prepared = cmt_data.preprocess_corpus(corpus, tiny_processor, training_args, PretrainingDataArguments())
    assert {split: list(dataset["length"]) for split, dataset in prepared.items()} == expected


def test_unreadable_and_empty_audio_are_named(tmp_path, tiny_processor, training_args):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    empty = tmp_path / "empty.wav"
    sf.write(str(empty), np.zeros(0, dtype=np.float32), SR)
    for path, message in ((broken, r"train\[1\]: cannot read the length"), (empty, r"train\[1\]: the audio is empty")):
        corpus = DatasetDict(
            {
                "train": Dataset.from_dict(
                    {"audio": [str(write_wav_file(tmp_path / "ok.wav")), str(path)], "text": TEXTS[:2]}
                )
            }  # fmt: skip
        )
        with pytest.raises(ValueError, match=message):
            cmt_data.preprocess_corpus(corpus, tiny_processor, training_args, PretrainingDataArguments())


def test_prepared_corpus_holds_no_waveforms_and_decodes_as_the_processor(tmp_path, tiny_processor, training_args):
    corpus = corpus_of(tmp_path, {"train": [3.0, 2.5, 3.5, 2.0]})
    prepared = cmt_data.preprocess_corpus(corpus, tiny_processor, training_args, PretrainingDataArguments())
    train = prepared["train"]
    assert sorted(train.column_names) == ["audio", "input_ids", "length"]
    audio_bytes = 4 * sum(train["length"])  # what float32 waveforms took before
    assert train.data.nbytes < audio_bytes / 500, (train.data.nbytes, audio_bytes)

    decoded = cmt_data.with_audio_decoding(prepared, tiny_processor)["train"]
    raw = corpus["train"]
    expected = tiny_processor(text=list(raw["text"]), audio=list(raw["audio"]), padding=False)
    for index in range(len(decoded)):
        example = decoded[index]
        assert sorted(example) == ["input_ids", "input_values", "length"]
        assert example["input_ids"] == expected["input_ids"][index]
        np.testing.assert_array_equal(example["input_values"], expected["input_values"][index])
        assert example["length"] == len(expected["input_values"][index])

    with pytest.raises(ValueError, match="--remove_unused_columns false"):
        cmt_data.AudioDecoding(tiny_processor)({"input_ids": [[0, 2]], "length": [3]})


# --- the per-batch audio budget --------------------------------------------------------------------------------------


LENGTHS = [35, 2, 12, 30, 14, 15, 9, 3, 28, 16, 13, 11, 7, 33, 5, 21, 18, 4, 25]  # seconds, a LibriSpeech-like spread


def test_budget_batches_hold_every_utterance_once_within_the_budget():
    sampler = AudioBudgetBatchSampler(LENGTHS, max_batch_samples=70, max_batch_size=4, seed=3)
    epochs = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert sorted(i for batch in batches for i in batch) == list(range(len(LENGTHS)))
        for batch in batches:
            assert len(batch) <= 4 and len(batch) * max(LENGTHS[i] for i in batch) <= 70
        assert batches[0][0] == LENGTHS.index(35)  # the longest first: memory errors show at the first step
        epochs.append(batches)
    assert sorted(map(sorted, epochs[0])) == sorted(map(sorted, epochs[1]))  # the same batches ...
    assert epochs[0] != epochs[1]  # ... in another order each epoch,
    sampler.set_epoch(1)
    assert list(sampler) == epochs[1]  # drawn from (seed, epoch): a resumed run sees the same
    assert {len(batch) for batch in epochs[0]} == {2, 3, 4}  # long utterances make small batches


def test_an_utterance_over_the_budget_is_refused():
    with pytest.raises(ValueError, match="Example 0 has 35 audio samples, more than a batch may hold"):
        AudioBudgetBatchSampler(LENGTHS, max_batch_samples=30, max_batch_size=4, seed=0)


@pytest.mark.parametrize("num_processes", [2, 3])
def test_every_process_gets_as_many_budget_batches(num_processes):
    """accelerate shards a batch sampler by handing out whole batches; its size varies, so the last round is
    completed with the first batches and no process waits for another at the last step."""
    from accelerate.data_loader import BatchSamplerShard

    sampler = AudioBudgetBatchSampler(LENGTHS, max_batch_samples=70, max_batch_size=4, seed=0)
    assert len(sampler) % num_processes  # the uneven case
    shards = [list(BatchSamplerShard(sampler, num_processes, rank)) for rank in range(num_processes)]
    assert len({len(shard) for shard in shards}) == 1
    assert all(len(shard) == len(BatchSamplerShard(sampler, num_processes, 0)) for shard in shards)
    assert {i for shard in shards for batch in shard for i in batch} == set(range(len(LENGTHS)))


def test_trainer_batches_within_the_budget_without_decoding_to_build_them(tmp_path, tiny_processor, training_args):
    corpus = corpus_of(tmp_path, {"train": [1.0, 0.25, 0.5, 0.75, 0.5, 1.0, 0.25]})
    prepared = cmt_data.preprocess_corpus(corpus, tiny_processor, training_args, PretrainingDataArguments())
    decoded = []

    class CountingDecoding(cmt_data.AudioDecoding):
        def __call__(self, batch):
            decoded.append(len(batch["audio"]))
            return super().__call__(batch)

    train = prepared["train"].with_transform(CountingDecoding(tiny_processor))
    args = TrainingArguments(
        str(tmp_path / "run"), report_to="none", use_cpu=True, per_device_train_batch_size=4,
        train_sampling_strategy="group_by_length", remove_unused_columns=False,
    )  # fmt: skip
    trainer = CMTTrainer(
        model=torch.nn.Linear(1, 1), args=args, train_dataset=train, processing_class=tiny_processor,
        data_collator=list, max_batch_audio_seconds=2.0,
    )  # fmt: skip
    dataloader = trainer.get_train_dataloader()
    assert decoded == []  # lengths came from the `length` column, not from decoding every example
    batches = list(dataloader)
    assert sum(map(len, batches)) == len(train) and sum(decoded) == len(train)
    for batch in batches:
        assert len(batch) <= 4 and len(batch) * max(len(example["input_values"]) for example in batch) <= 2 * SR

    # each epoch's order reaches the sampler also where accelerate's wrappers hide it (a multi-process resume)
    callback = next(c for c in trainer.callback_handler.callbacks if isinstance(c, SeededSamplerEpoch))
    trainer.state.epoch = 2.5  # as restored from a checkpoint in the middle of the third epoch
    callback.on_epoch_begin(args, trainer.state, trainer.control)
    assert trainer.seeded_sampler.epoch == 2

    trainer.max_batch_audio_seconds = None  # the plain length-grouped sampler reads the stored lengths too
    trainer.get_train_dataloader()
    assert sum(decoded) == len(train)
    assert type(trainer.seeded_sampler).__name__ == "EpochSeededLengthGroupedSampler"


def test_data_path_benchmark_script(tmp_path):
    """`benchmarks/bench_data_path.py` as a user runs it, on a few utterances: the prepared corpus holds a
    thousandth of the float32 waveforms it held before."""
    import json
    import subprocess

    output = tmp_path / "data_path.json"
    command = [sys.executable, str(REPO / "benchmarks" / "bench_data_path.py"), "--hours", "0.01", "--output", output]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| now: headers, decoding on the fly |" in result.stdout
    figures = json.loads(output.read_text())
    assert figures["now"]["stored_bytes_per_hour"] * 500 < figures["before"]["stored_bytes_per_hour"]
    assert figures["before"]["stored_bytes_960h"] > 200e9  # 960 h of float32 at 16 kHz


def test_config_overrides_parse_numbers_and_booleans():
    """`--config_overrides audio_context_gradients=False` must reach the config as False, not the truthy "False"."""
    from cmt_arguments import parse_overrides

    parsed = parse_overrides("audio_context_gradients=False,num_cross_layers=4,hidden_dropout_prob=0.05,act=gelu")
    assert parsed == {
        "audio_context_gradients": False,
        "num_cross_layers": 4,
        "hidden_dropout_prob": 0.05,
        "act": "gelu",
    }
    assert parse_overrides("x=TRUE") == {"x": True}
