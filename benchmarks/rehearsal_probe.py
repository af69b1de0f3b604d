# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Runs one example script unchanged and records the peak device memory torch saw in it:

    python benchmarks/rehearsal_probe.py probe.json examples/run_pretraining.py --text_model ... --bf16

The script runs as `python examples/run_pretraining.py ...` runs it (`runpy`, as `__main__`, its folder first on
`sys.path`); when it ends, `torch.cuda.max_memory_allocated()` / `max_memory_reserved()` go to `probe.json`.
`rehearse.py` wraps its stages in it on a CUDA device only: a process's peak device memory is visible only from
inside it, while the CPU's peak resident memory comes from `wait4` outside.
"""

import json
import os
import runpy
import sys


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(f"usage: {sys.argv[0]} OUTPUT.json SCRIPT [ARGS...]")
    output, script, *arguments = sys.argv[1:]
    sys.argv = [script, *arguments]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        import torch

        record = {"cuda": torch.cuda.is_available()}
        if record["cuda"]:
            record["max_memory_allocated"] = torch.cuda.max_memory_allocated()
            record["max_memory_reserved"] = torch.cuda.max_memory_reserved()
            record["device_name"] = torch.cuda.get_device_name()
        with open(output, "w") as file:
            json.dump(record, file)


if __name__ == "__main__":
    main()
