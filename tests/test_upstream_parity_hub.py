"""Upstream parity: model info with offline support, rebuilt from the Hub cache when HF_HUB_OFFLINE is set."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import constants, hf_api

from api_inference_community.compat.hub_info import cached_revision_path, hub_model_info
from api_inference_community.hub.resolve import ModelNotFound
from api_inference_community.testing.hub_cache import DEFAULT_REVISION, make_hub_cache

REPO = "org/tiny-model"
CARD = """---
license: apache-2.0
tags:
- deep-narrow
pipeline_tag: text-generation
library_name: peft
---
# A tiny model
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    files = tmp_path / "files"
    (files / "nested").mkdir(parents=True)
    (files / "README.md").write_text(CARD)
    (files / "config.json").write_text("{}")
    (files / "pytorch_model.bin").write_bytes(b"\0" * 1234)
    (files / "nested" / "vocab.txt").write_text("a\nb\n")
    cache_dir = tmp_path / "hub"
    make_hub_cache(cache_dir, REPO, files)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache_dir))
    return cache_dir


def test_offline_info_is_rebuilt_from_the_cache(cache):
    info = hub_model_info(repo_id=REPO, revision=DEFAULT_REVISION)
    assert isinstance(info, hf_api.ModelInfo)
    assert info.id == REPO
    assert (info.downloads, info.likes, info.private) == (0, 0, False)
    files = {sibling.rfilename: sibling.size for sibling in info.siblings}
    assert files == {"README.md": len(CARD), "config.json": 2, "pytorch_model.bin": 1234, "nested/vocab.txt": 4}
    assert info.license == "apache-2.0"
    assert info.tags == ["deep-narrow"]
    assert info.library_name == "peft" and info.pipeline_tag == "text-generation"
    assert info.card_data == info.cardData
    assert info.card_data.license == "apache-2.0" and info.card_data.tags == ["deep-narrow"]


def test_a_branch_resolves_through_refs(cache):
    assert hub_model_info(REPO).id == REPO  # no revision: main
    assert cached_revision_path(cache, REPO, "main") == cached_revision_path(cache, REPO, DEFAULT_REVISION)


def test_a_saved_info_file_wins(cache):
    snapshot = cached_revision_path(cache, REPO, None)
    (snapshot / "hub_model_info.json").write_text(json.dumps({"id": REPO, "downloads": 42, "likes": 7}))
    info = hub_model_info(REPO, cache_dir=cache)
    assert (info.downloads, info.likes) == (42, 7)


def test_what_is_not_cached_is_a_clear_error(cache):
    with pytest.raises(ModelNotFound, match="not in the cache"):
        hub_model_info("org/absent")
    with pytest.raises(ModelNotFound, match="Revision"):
        hub_model_info(REPO, revision="f" * 40)
    (cached_revision_path(cache, REPO, None) / "README.md").unlink()
    with pytest.raises(ModelNotFound, match="README"):
        hub_model_info(REPO)


def test_online_asks_the_hub(monkeypatch):
    calls = []
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hf_api, "model_info", lambda **kwargs: calls.append(kwargs) or "from the Hub")
    assert hub_model_info(REPO, token="t") == "from the Hub"
    assert calls == [{"repo_id": REPO, "revision": "main", "token": "t"}]


def test_upstream_import_path():
    from api_inference_community import hub

    assert hub.hub_model_info is hub_model_info and hub.cached_revision_path is cached_revision_path
