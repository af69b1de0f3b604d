# Copyright 2026 The cmt authors. Licensed under the Apache License, Version 2.0.
"""Publishing a CMT checkpoint on the Hugging Face Hub: weights, config, processor, the remote code with which it loads
where cmt is not installed ([`~modeling_cmt.remote_code`]) and a model card ([`~modeling_cmt.model_card`]), in one
commit.

`model.push_to_hub` is transformers' own and uploads weights and config only; [`push_to_hub`] here is the explicit
way to publish a checkpoint that others load with `trust_remote_code=True` (as open_clip's `push_to_hf_hub`).
"""

import os
import tempfile

from huggingface_hub import CommitInfo, HfApi, ModelCard
from huggingface_hub.errors import EntryNotFoundError

from processing_cmt import CMTProcessor

from .model_card import create_model_card, model_card_variant
from .modeling_cmt import CMTPreTrainedModel
from .remote_code import save_pretrained_with_remote_code


__all__ = ["push_to_hub"]

# what `transformers.utils.hub.create_and_tag_model_card` writes, e.g. when a processor was pushed first
_PLACEHOLDER_CARD = "This model card has been automatically generated"


def _existing_card(repo_id: str, token: bool | str | None) -> ModelCard | None:
    """The repo's README.md as a card, or None when it has none or only transformers' auto-generated placeholder."""
    try:
        card = ModelCard.load(repo_id, token=token)
    except EntryNotFoundError:
        return None
    return None if _PLACEHOLDER_CARD in card.text else card


def push_to_hub(
    model: CMTPreTrainedModel,
    repo_id: str,
    processor: CMTProcessor | None = None,
    *,
    model_card: ModelCard | None = None,
    commit_message: str | None = None,
    commit_description: str | None = None,
    private: bool | None = None,
    token: bool | str | None = None,
    revision: str | None = None,
    create_pr: bool = False,
    max_shard_size: int | str | None = "50GB",
    tags: list[str] | None = None,
) -> CommitInfo:
    """
    Uploads a CMT checkpoint in one commit: weights, `config.json` with `auto_map`, the processor when given, the flat
    remote code ([`~modeling_cmt.remote_code.save_pretrained_with_remote_code`]) and a model card as `README.md`. The
    card is `model_card` when given; else the repo's README.md when it has one (transformers' auto-generated
    placeholder does not count); else [`~modeling_cmt.model_card.create_model_card`] for
    [`~modeling_cmt.model_card.model_card_variant`]`(model)`. `tags` (and `model.model_tags`) are added to the card's
    tags.

    Args:
        model ([`CMTPreTrainedModel`]): the model to upload.
        repo_id (`str`): the repository, `"namespace/name"` (created if missing).
        processor ([`CMTProcessor`], *optional*): uploaded beside the model, so that `AutoProcessor` and the pipeline
            load from the repo.
        model_card (`huggingface_hub.ModelCard`, *optional*): the card to write as README.md.
        commit_message, commit_description, private, token, revision, create_pr, max_shard_size, tags:
            as in [`~transformers.PreTrainedModel.push_to_hub`].

    Returns:
        `huggingface_hub.CommitInfo` of the upload commit.

    Example:

    ```python
    >>> from modeling_cmt.hub import push_to_hub

    >>> push_to_hub(model, "my-org/cmt-base-iemocap", processor=processor)
    ```
    """
    api = HfApi()
    repo_id = api.create_repo(repo_id, private=private, token=token, exist_ok=True).repo_id
    card = model_card or _existing_card(repo_id, token)
    if card is None:
        card = create_model_card(model_card_variant(model), repo_id=repo_id, config=model.config)
    all_tags = list(dict.fromkeys([*(model.model_tags or []), *(tags or [])]))
    if all_tags:
        card.data.tags = list(dict.fromkeys([*(card.data.tags or []), *all_tags]))
    uploaded = type(model).__name__ + (f" and {type(processor).__name__}" if processor is not None else "")
    with tempfile.TemporaryDirectory() as work_dir:
        save_pretrained_with_remote_code(model, work_dir, processor=processor, max_shard_size=max_shard_size)
        card.save(os.path.join(work_dir, "README.md"))
        if revision is not None and not revision.startswith("refs/pr"):
            api.create_branch(repo_id=repo_id, branch=revision, token=token, exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=work_dir,
            commit_message=commit_message or f"Upload {uploaded}",
            commit_description=commit_description,
            token=token,
            revision=revision,
            create_pr=create_pr,
        )
