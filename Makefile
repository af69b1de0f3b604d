# One entry point per job. `make test` and `make quickstart` install what they need first.
PYTHON ?= python3
# The CPU build of torch; on a GPU machine use `make install TORCH_SPEC=torch` (or have torch installed already).
TORCH_SPEC ?= torch==2.13.0

.PHONY: install test test-fast quickstart demo quality bench rehearse

install:
	$(PYTHON) -m pip install -q "$(TORCH_SPEC)"
	$(PYTHON) -m pip install -q ".[test]"

test: install
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q tests

# The edit loop (after one `make install`): the library's unit tests, without the script and end-to-end tiers.
test-fast:
	HF_HUB_OFFLINE=1 $(PYTHON) -m pytest -q -m "not slow and not script and not e2e" tests

quickstart: install
	HF_HUB_OFFLINE=1 $(PYTHON) examples/quickstart.py --output_dir runs/quickstart

# The demo (demo/app.py) on the quickstart's model, at http://127.0.0.1:7860 (MODEL=folder-or-hub-id for another).
demo: install
	$(PYTHON) demo/app.py $(if $(MODEL),--model $(MODEL))

quality:
	ruff check .
	ruff format --check .

bench: install
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/run_benchmarks.py

# The paper's run rehearsed at full size on random RoBERTa-large + HuBERT-large (not in CI; tens of minutes on a CPU,
# ~20 GiB): every README command a few steps, per-stage step time, memory and checkpoint size, the projected cost.
rehearse: install
	HF_HUB_OFFLINE=1 $(PYTHON) benchmarks/rehearse.py --output_dir runs/rehearsal
