"""Tests for api_inference_community.hub: model resolution and card metadata (never online)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from api_inference_community.hub.cards import CardMetadata, card_metadata, read_card_metadata
from api_inference_community.hub.resolve import ModelNotFound, directory_size, is_local_model, resolve_model
from api_inference_community.runtime.settings import Settings
from api_inference_community.testing.hub_cache import DEFAULT_REVISION, make_hub_cache

FILES = {
    "config.json": b'{"model_type": "bert"}',
    "README.md": b"---\npipeline_tag: fill-mask\nlibrary_name: transformers\n---\n# A model\n",
    "weights/model.bin": b"\x00" * 1000,
}


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # belt and braces: nothing here may reach the network


@pytest.fixture
def files_dir(tmp_path: Path) -> Path:
    root = tmp_path / "files"
    for name, data in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


@pytest.fixture
def hub(tmp_path: Path, files_dir: Path) -> Path:
    """`$HF_HOME` holding org/name in its hub cache; returns HF_HOME."""
    make_hub_cache(tmp_path / "hub", "org/name", files_dir)
    return tmp_path


def offline(hf_home: Path, model_id: str, **extra) -> Settings:
    return Settings(hf_home=str(hf_home), hf_hub_offline=True, model_id=model_id, **extra)


# --------------------------------------------------------------------------
# resolve_model
# --------------------------------------------------------------------------


def test_local_directory(files_dir):
    resolved = resolve_model(Settings(model_id=str(files_dir)))
    assert resolved == files_dir.resolve()
    assert resolved.is_absolute()
    assert (resolved / "config.json").is_file()


def test_local_directory_relative(files_dir, monkeypatch):
    monkeypatch.chdir(files_dir.parent)
    assert resolve_model(Settings(model_id="files")) == files_dir.resolve()
    assert resolve_model(Settings(model_id="./files")) == files_dir.resolve()


def test_local_directory_with_tilde(files_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(files_dir.parent))
    assert resolve_model(Settings(model_id="~/files")) == files_dir.resolve()


def test_local_directory_wins_over_hub_id(tmp_path, hub, monkeypatch):
    """A directory named like a repo id is the local model."""
    local = tmp_path / "work" / "org" / "name"
    local.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    assert resolve_model(offline(hub, "org/name")) == local.resolve()


def test_hub_id_from_offline_cache(hub):
    resolved = resolve_model(offline(hub, "org/name"))
    expected = hub / "hub" / "models--org--name" / "snapshots" / DEFAULT_REVISION
    assert resolved == expected
    assert sorted(str(p.relative_to(resolved)) for p in resolved.rglob("*") if p.is_file()) == sorted(FILES)
    for name, data in FILES.items():
        assert (resolved / name).read_bytes() == data


def test_hub_id_with_revision(hub):
    assert resolve_model(offline(hub, "org/name", revision=DEFAULT_REVISION)).name == DEFAULT_REVISION


def test_hub_id_with_unknown_revision(hub):
    with pytest.raises(ModelNotFound, match="org/name"):
        resolve_model(offline(hub, "org/name", revision="not-cached"))


def test_make_hub_cache_returns_the_snapshot(tmp_path, files_dir):
    snapshot = make_hub_cache(tmp_path / "cache", "a/b", files_dir, revision="f" * 40)
    assert snapshot == tmp_path / "cache" / "models--a--b" / "snapshots" / ("f" * 40)
    assert (tmp_path / "cache" / "models--a--b" / "refs" / "main").read_text() == "f" * 40
    assert (snapshot / "config.json").is_symlink()


def test_missing_repo_offline(hub):
    with pytest.raises(ModelNotFound) as info:
        resolve_model(offline(hub, "org/missing"))
    message = str(info.value)
    assert "`org/missing`" in message
    assert str(hub / "hub") in message
    assert "HF_HUB_OFFLINE" in message
    assert "cannot be downloaded" in message


def test_missing_repo_without_hf_home_names_default_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "default-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "default-home" / "hub"))
    with pytest.raises(ModelNotFound, match="the default Hugging Face cache"):
        resolve_model(Settings(model_id="org/missing", hf_hub_offline=True))


@pytest.mark.parametrize("model_id", ["/nonexistent/absolute/path", "./not-here", "../not-here", "~/not-here-either"])
def test_nonexistent_path(model_id, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFound) as info:
        resolve_model(offline(tmp_path, model_id))
    assert f"`{model_id}` does not exist" in str(info.value)


def test_a_file_is_not_a_model_directory(files_dir):
    path = files_dir / "config.json"
    with pytest.raises(ModelNotFound, match="does not exist"):
        resolve_model(Settings(model_id=str(path)))


def test_model_id_not_set():
    with pytest.raises(ModelNotFound, match="MODEL_ID is not set"):
        resolve_model(Settings())


@pytest.mark.parametrize("model_id", ["bad id!!", "a/b/c", "org/-name", "org//name", "x" * 200])
def test_invalid_repo_id(model_id, tmp_path):
    with pytest.raises(ModelNotFound) as info:
        resolve_model(offline(tmp_path, model_id))
    assert f"`{model_id}` is not a valid model id" in str(info.value)


def test_model_not_found_is_a_runtime_error():
    assert issubclass(ModelNotFound, RuntimeError)


@pytest.mark.parametrize("model_id, expected", [("", False), ("org/name", False)])
def test_is_local_model_false(model_id, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert is_local_model(model_id) is expected


def test_is_local_model_true(files_dir):
    assert is_local_model(str(files_dir)) is True
    assert is_local_model(str(files_dir / "config.json")) is False


# --------------------------------------------------------------------------
# Card metadata
# --------------------------------------------------------------------------

CARDS = [
    (
        "---\npipeline_tag: text-classification\nlibrary_name: transformers\ninference: false\n---\n# Model\n",
        CardMetadata("text-classification", "transformers", False),
    ),
    ("---\npipeline_tag: fill-mask\n---\nText", CardMetadata("fill-mask", None, True)),
    ("---\nlibrary_name: sentence-transformers\n---\n", CardMetadata(None, "sentence-transformers", True)),
    ("---\ninference: true\n---\n", CardMetadata(None, None, True)),
    ("---\ninference:\n  parameters:\n    temperature: 0.5\n---\n", CardMetadata(None, None, True)),
    ("---\ninference: 'false'\n---\n", CardMetadata(None, None, True)),  # only the boolean false disables
    ("---\ninference:\n---\n", CardMetadata(None, None, True)),  # null: not set
    ("---\nlicense: mit\ntags:\n- a\n---\n", CardMetadata()),
    ("---\n---\n", CardMetadata()),
    ("# Just a title, no front matter\n", CardMetadata()),
    ("", CardMetadata()),
]


@pytest.mark.parametrize("text, expected", CARDS)
def test_read_card_metadata(tmp_path, text, expected):
    (tmp_path / "README.md").write_text(text)
    assert read_card_metadata(tmp_path) == expected


def test_card_metadata_defaults():
    assert CardMetadata() == CardMetadata(pipeline_tag=None, library_name=None, inference=True)


def test_no_readme(tmp_path):
    assert read_card_metadata(tmp_path) == CardMetadata()
    assert read_card_metadata(tmp_path / "missing-dir") == CardMetadata()


def test_readme_is_a_directory(tmp_path):
    (tmp_path / "README.md").mkdir()
    assert read_card_metadata(tmp_path) == CardMetadata()


@pytest.mark.parametrize(
    "text",
    [
        "---\npipeline_tag: [unclosed\n---\n",
        "---\n- a list\n- not a mapping\n---\n",
        "---\nkey: value\n  bad indentation: x\n---\n",
    ],
)
def test_malformed_card_is_ignored_with_a_warning(tmp_path, text, caplog):
    (tmp_path / "README.md").write_text(text)
    with caplog.at_level(logging.WARNING, logger="api_inference_community.hub"):
        assert read_card_metadata(tmp_path) == CardMetadata()
    assert "Cannot read the model card" in caplog.text


def test_read_card_metadata_accepts_str_paths(tmp_path):
    (tmp_path / "README.md").write_text("---\npipeline_tag: fill-mask\n---\n")
    assert read_card_metadata(str(tmp_path)).pipeline_tag == "fill-mask"  # type: ignore[arg-type]


def test_card_metadata_of_cached_repo(hub):
    assert card_metadata(offline(hub, "org/name")) == CardMetadata("fill-mask", "transformers", True)


def test_card_metadata_of_missing_repo(hub):
    with pytest.raises(ModelNotFound):
        card_metadata(offline(hub, "org/missing"))


# --------------------------------------------------------------------------
# directory_size
# --------------------------------------------------------------------------

TOTAL = sum(len(data) for data in FILES.values())


def test_directory_size_plain(files_dir):
    assert directory_size(files_dir) == TOTAL


def test_directory_size_follows_cache_symlinks(hub):
    snapshot = resolve_model(offline(hub, "org/name"))
    assert any(p.is_symlink() for p in snapshot.rglob("*"))
    assert directory_size(snapshot) == TOTAL


def test_directory_size_empty_and_missing(tmp_path):
    (tmp_path / "empty" / "nested").mkdir(parents=True)
    assert directory_size(tmp_path / "empty") == 0
    assert directory_size(tmp_path / "missing") == 0


def test_directory_size_skips_broken_links(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"12345")
    os.symlink(tmp_path / "gone", tmp_path / "broken")
    assert directory_size(tmp_path) == 5


def test_directory_size_does_not_follow_symlink_loops(tmp_path):
    (tmp_path / "model" / "nested").mkdir(parents=True)
    (tmp_path / "model" / "a.bin").write_bytes(b"12345")
    (tmp_path / "model" / "nested" / "b.bin").write_bytes(b"678")
    os.symlink(tmp_path / "model", tmp_path / "model" / "nested" / "up")  # nested/up/nested/up/... forever
    os.symlink(".", tmp_path / "model" / "self")
    os.symlink(tmp_path / "model" / "nested", tmp_path / "model" / "nested" / "again")
    started = time.monotonic()
    assert directory_size(tmp_path / "model") == 8
    assert time.monotonic() - started < 5


def test_directory_size_counts_a_blob_and_its_links_once(hub):
    repo = hub / "hub" / "models--org--name"
    assert (repo / "blobs").is_dir() and (repo / "snapshots").is_dir()
    refs = (repo / "refs" / "main").stat().st_size
    assert directory_size(repo) == TOTAL + refs  # blobs/ and the snapshot's links to them, once


def test_only_the_files_the_library_reads_are_fetched(tmp_path, monkeypatch):
    """A Hub id is downloaded with the pipeline's allow patterns (and its card), not every file of the repo."""
    import huggingface_hub

    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append(kwargs)
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    settings = Settings(model_id="org/model", hf_home=str(tmp_path))
    assert resolve_model(settings, allow_patterns=["*.json", "*.safetensors"]) == tmp_path
    assert calls[-1]["allow_patterns"] == ["*.json", "*.safetensors", "README.md"]
    resolve_model(settings)
    assert calls[-1]["allow_patterns"] is None  # a library that declares nothing gets every file
