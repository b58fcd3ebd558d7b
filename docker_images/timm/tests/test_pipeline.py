"""The pipeline in-process: loading, labels, preprocessing, parameters, batching."""

from __future__ import annotations

import io
import json
import shutil

import pytest
import timm
import torch
from PIL import Image
from safetensors.torch import load_file
from timm.data import ImageNetInfo
from timm_testing import DATA_CONFIG, LABELS, make_pipeline, picture
from torchvision import transforms

from app.pipelines.image_classification import postprocess, resolve_labels


def by_hand(model_dir, architecture, num_classes, image):
    """Logits computed without the pipeline: the architecture, the weights and the data config."""
    model = timm.create_model(architecture, pretrained=False, num_classes=num_classes)
    model.load_state_dict(load_file(str(model_dir / "model.safetensors")))
    model.eval()
    size = DATA_CONFIG["input_size"][1]
    preprocess = transforms.Compose(
        [
            transforms.Resize(int(size / DATA_CONFIG["crop_pct"]), interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(size),
            transforms.ToTensor(),
            transforms.Normalize(DATA_CONFIG["mean"], DATA_CONFIG["std"]),
        ]
    )
    with torch.no_grad():
        return model(preprocess(image).unsqueeze(0))[0]


def test_output_equals_timm_by_hand(models, labeled_pipeline):
    for seed in range(3):
        image = picture(size=(150 + 10 * seed, 100), seed=seed)
        logits = by_hand(models.labeled, "test_resnet", 4, image)
        expected = sorted(zip(LABELS, logits.softmax(-1).tolist()), key=lambda pair: -pair[1])
        output = labeled_pipeline(image)
        assert [item["label"] for item in output] == [label for label, _ in expected]
        assert [item["score"] for item in output] == pytest.approx([score for _, score in expected], abs=1e-5)


def test_uses_the_models_data_config(labeled_pipeline):
    config = labeled_pipeline.data_config
    assert tuple(config["input_size"]) == (3, 96, 96)
    assert config["crop_pct"] == 0.8 and config["interpolation"] == "bicubic"
    assert list(config["mean"]) == DATA_CONFIG["mean"] and list(config["std"]) == DATA_CONFIG["std"]
    assert labeled_pipeline.preprocess(picture()).shape == (3, 96, 96)


def test_default_top_k_is_capped_at_the_number_of_classes(labeled_pipeline, models):
    output = labeled_pipeline(picture())
    assert len(output) == 4 and sorted(item["label"] for item in output) == sorted(LABELS)
    assert sum(item["score"] for item in output) == pytest.approx(1.0, abs=1e-5)
    imagenet = make_pipeline(models.imagenet)
    assert len(imagenet(picture())) == 5
    assert len(imagenet(picture(), top_k=1000)) == 1000


def test_parameters(labeled_pipeline, models):
    image = picture(seed=3)
    logits = by_hand(models.labeled, "test_resnet", 4, image)
    output = labeled_pipeline(image, top_k=2)
    assert len(output) == 2 and output[0]["score"] >= output[1]["score"]
    for function, scores in (("sigmoid", logits.sigmoid()), ("none", logits), ("softmax", logits.softmax(-1))):
        output = labeled_pipeline(image, top_k=3, function_to_apply=function)
        expected = sorted(scores.tolist(), reverse=True)[:3]
        assert [item["score"] for item in output] == pytest.approx(expected, abs=1e-4)
    for bad in ({"top_k": 0}, {"top_k": "2"}, {"top_k": True}, {"function_to_apply": "relu"}, {"colour": 1}):
        with pytest.raises(ValueError):
            labeled_pipeline(image, **bad)


def test_batch_equals_one_by_one(labeled_pipeline):
    pictures = [picture(size=(80 + 20 * i, 60 + 7 * i), seed=i) for i in range(5)]
    pictures.append(pictures[0].convert("L"))
    alone = [labeled_pipeline(p, top_k=3) for p in pictures]
    together = labeled_pipeline.batch(pictures, top_k=3)
    assert len(together) == len(pictures)
    for one, many in zip(alone, together):
        assert [x["label"] for x in one] == [x["label"] for x in many]
        assert [x["score"] for x in one] == pytest.approx([x["score"] for x in many], abs=1e-5)


def test_any_image_mode(labeled_pipeline, images):
    for name, data in images.items():
        output = labeled_pipeline(Image.open(io.BytesIO(data)))
        assert len(output) == 4, name


def test_imagenet_labels_when_the_config_has_none(models):
    pipeline = make_pipeline(models.imagenet)
    info = ImageNetInfo("imagenet-1k")
    assert pipeline.labels == [info.index_to_description(i) for i in range(1000)]
    assert pipeline.labels[0] == "tench, Tinca tinca"
    output = pipeline(picture(), top_k=3)
    assert all(item["label"] in pipeline.labels for item in output)


def test_label_fallback_and_pytorch_bin_weights(models):
    pipeline = make_pipeline(models.plain)  # pytorch_model.bin only, no label names
    assert pipeline.labels == ["LABEL_0", "LABEL_1", "LABEL_2"]
    assert {item["label"] for item in pipeline(picture())} == {"LABEL_0", "LABEL_1", "LABEL_2"}


def test_resolve_labels():
    assert resolve_labels({"label_names": ["a", "b"]}, 2) == ["a", "b"]
    described = {"label_names": ["n1", "n2"], "label_descriptions": {"n1": "first", "n2": "second"}}
    assert resolve_labels(described, 2) == ["first", "second"]
    assert resolve_labels({"label_names": {"0": "zero", "2": "two"}}, 3) == ["zero", "LABEL_1", "two"]
    assert resolve_labels({"label_names": ["a"]}, 2) == ["a", "LABEL_1"]
    assert resolve_labels({"label_names": ["a", "b"], "label_descriptions": {"a": "x"}}, 2) == ["a", "b"]
    assert resolve_labels({}, 2) == ["LABEL_0", "LABEL_1"]
    assert resolve_labels({}, 1000)[1] == "goldfish, Carassius auratus"


def test_single_output_defaults_to_sigmoid():
    logits = torch.tensor([[2.0], [-1.0]])
    assert postprocess(logits, ["yes"], 5, "sigmoid")[0] == [{"label": "yes", "score": pytest.approx(0.8807971)}]
    scores = postprocess(torch.tensor([[1.0, 3.0, 2.0]]), ["a", "b", "c"], 2, "softmax")[0]
    assert [s["label"] for s in scores] == ["b", "c"]


def test_legacy_flat_config(tmp_path, models):
    """Older Hub uploads keep everything at the top level of config.json, labels as `labels`."""
    folder = shutil.copytree(models.labeled, tmp_path / "legacy")
    config = json.loads((folder / "config.json").read_text())
    flat = {"architecture": config["architecture"], **config["pretrained_cfg"], "labels": ["w", "x", "y", "z"]}
    (folder / "config.json").write_text(json.dumps(flat))
    pipeline = make_pipeline(folder)
    assert pipeline.labels == ["w", "x", "y", "z"]


def test_load_errors(tmp_path, models):
    with pytest.raises(FileNotFoundError, match="config.json"):
        make_pipeline(tmp_path)
    folder = tmp_path / "no-weights"
    folder.mkdir()
    shutil.copy(models.labeled / "config.json", folder / "config.json")
    with pytest.raises(FileNotFoundError, match="weights"):
        make_pipeline(folder)
    with pytest.raises(ValueError, match="BACKEND"):
        make_pipeline(models.labeled, BACKEND="tensorflow")


def test_single_channel_model(tmp_path):
    model = timm.create_model("test_resnet", pretrained=False, num_classes=2, in_chans=1)
    timm.models.save_for_hf(model, str(tmp_path / "grey"), safe_serialization=True)
    pipeline = make_pipeline(tmp_path / "grey")
    assert pipeline.preprocess(picture()).shape[0] == 1
    assert len(pipeline(picture())) == 2


def test_only_config_and_safetensors_are_fetched():
    from fnmatch import fnmatch

    from api_inference_community.runtime.settings import Settings
    from app.pipelines import ImageClassificationPipeline

    patterns = ImageClassificationPipeline.model_files(Settings())
    repository = ["config.json", "model.safetensors", "pytorch_model.bin", "model.onnx", "tf_model.h5", "README.md"]
    fetched = [name for name in repository if any(fnmatch(name, pattern) for pattern in patterns)]
    assert fetched == ["config.json", "model.safetensors"]
