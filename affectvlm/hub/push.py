"""Upload a prepared folder (a model export or a Space) to the Hub with huggingface_hub."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from huggingface_hub import HfApi

logger = logging.getLogger(__name__)


class HubApi(Protocol):
    """The two HfApi methods used here: a test passes a recorder instead of the network."""

    def create_repo(self, repo_id: str, **kwargs): ...

    def upload_folder(self, *, repo_id: str, folder_path: str | Path, **kwargs): ...


@dataclass(frozen=True)
class HubRepo:
    """Where a folder goes. `private` only makes a new repo private (None otherwise, so an organisation's
    default applies); an existing repo keeps its visibility. `space_sdk`: for a new Space."""

    repo_id: str
    repo_type: str = "model"
    private: bool = False
    space_sdk: str | None = None


def upload_folder_to_hub(
    folder: str | Path,
    repo: HubRepo,
    *,
    token: str | None = None,
    ignore_patterns: list[str] | None = None,
    commit_message: str = "Upload AffectVLM",
    api: HubApi | None = None,
) -> str:
    """Create the repo if needed (exist_ok) and upload `folder` as one commit; returns the commit URL."""
    api = api or HfApi(token=token)
    logger.info("creating %s repo %s (if missing)", repo.repo_type, repo.repo_id)
    api.create_repo(repo.repo_id, repo_type=repo.repo_type, private=repo.private or None, exist_ok=True,
                    space_sdk=repo.space_sdk)
    logger.info("uploading %s to %s", folder, repo.repo_id)
    commit = api.upload_folder(repo_id=repo.repo_id, folder_path=str(folder), repo_type=repo.repo_type,
                               commit_message=commit_message, ignore_patterns=ignore_patterns)
    url = getattr(commit, "commit_url", None) or str(commit)
    logger.info("uploaded: %s", url)
    return url
