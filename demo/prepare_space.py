# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Assembles the demo as a Hugging Face Space folder: app.py, README.md (the Space's front matter), requirements.txt,
the cmt packages beside them (a Space installs no local package) and, optionally, a checkpoint folder as `model/`.

    python demo/prepare_space.py --output space --model runs/quickstart/finetuned-CMT
    hf upload YOUR_NAME/cmt-demo space . --repo-type space

Without `--model` the Space serves the Hub id in its `CMT_MODEL` variable (set it in the Space's settings).
"""

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path


HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SPACE_FILES = ("app.py", "README.md", "requirements.txt")
PACKAGES = ("configuration_cmt", "modeling_cmt", "processing_cmt")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


@dataclass
class SpaceArguments:
    output: str = field(metadata={"help": "The Space folder to write (must not exist, or be empty)."})
    model: str | None = field(
        default=None, metadata={"help": "A CMT checkpoint folder to ship as model/ (the app's default)."}
    )


def prepare_space(output: str | Path, model: str | Path | None = None) -> Path:
    """
    Writes the Space folder.

    Args:
        output (`str` or `Path`): the folder; created, and refused when it exists and is not empty.
        model (`str` or `Path`, *optional*): a checkpoint folder (model + processor) copied to `model/`.

    Returns:
        `Path`: the folder.
    """
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise FileExistsError(f"{output} exists and is not an empty folder; give a new one.")
    if model is not None and not (Path(model) / "config.json").is_file():
        raise FileNotFoundError(f"--model {model}: not a checkpoint folder (no config.json).")
    output.mkdir(parents=True, exist_ok=True)
    for name in SPACE_FILES:
        shutil.copy2(HERE / name, output / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, output / package, ignore=IGNORED)
    if model is not None:
        shutil.copytree(model, output / "model", ignore=shutil.ignore_patterns("checkpoint-*", "runs"))
    return output


def main():
    from transformers import HfArgumentParser

    (args,) = HfArgumentParser(SpaceArguments).parse_args_into_dataclasses()
    try:
        output = prepare_space(args.output, args.model)
    except (FileExistsError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")
    model = "model/ (shipped)" if args.model else "the Hub id in the Space's CMT_MODEL variable"
    print(f"Space in {output}, serving {model}. Push it: hf upload YOUR_NAME/cmt-demo {output} . --repo-type space")


if __name__ == "__main__":
    main()
