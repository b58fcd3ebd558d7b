"""A models directory of generated timm classifiers of several sizes, for the multi-model benchmarks.

Each model is a randomly initialized timm architecture saved as the Hub stores timm models
(`timm.models.save_for_hf`, safetensors) with a README card (`library_name: timm`,
`pipeline_tag: image-classification`), in `MODELS_DIR/bench/<name>/`. Generating them again
changes nothing (a folder whose weights exist is kept). timm is imported only when models are built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

ORGANIZATION = "bench"
CARD = """---
library_name: timm
pipeline_tag: image-classification
tags: [image-classification, timm]
---
# A generated benchmark model

A `{architecture}` of timm with random weights and {classes} classes: its answers are arbitrary.
"""

# (architecture, classes): from about 0.1 to 11 million parameters, each quick to build.
ARCHITECTURES: Tuple[Tuple[str, int], ...] = (
    ("test_efficientnet", 10),
    ("test_resnet", 10),
    ("test_byobnet", 10),
    ("test_vit", 10),
    ("mobilenetv3_small_050", 10),
    ("test_nfnet", 10),
    ("lcnet_050", 100),
    ("test_convnext", 10),
    ("regnetx_002", 10),
    ("test_coatnet", 10),
    ("efficientnet_b0", 10),
    ("test_resnet", 1000),
    ("resnet10t", 10),
    ("test_maxvit", 10),
    ("mobilenetv3_small_050", 1000),
    ("resnet18", 10),
)


@dataclass(frozen=True)
class GeneratedModel:
    """One model of the directory: its id, folder, architecture, classes and weights on disk."""

    model_id: str
    folder: Path
    architecture: str
    classes: int
    weights_bytes: int


def model_name(index: int, architecture: str, classes: int) -> str:
    return f"m{index:02d}-{architecture.replace('_', '-')}-c{classes}"


def build_timm_models(
    models_dir: Path, count: int, architectures: Sequence[Tuple[str, int]] = ARCHITECTURES, seed: int = 0
) -> List[GeneratedModel]:
    """`count` models under `models_dir` (architectures taken in turn), built where missing."""
    models = []
    for index in range(count):
        architecture, classes = architectures[index % len(architectures)]
        model_id = f"{ORGANIZATION}/{model_name(index, architecture, classes)}"
        folder = models_dir / model_id
        weights = folder / "model.safetensors"
        if not weights.is_file():
            _save(folder, architecture, classes, seed + index)
        models.append(GeneratedModel(model_id, folder, architecture, classes, weights.stat().st_size))
    return models


def _save(folder: Path, architecture: str, classes: int, seed: int) -> None:
    import timm
    import torch
    from timm.models import save_for_hf

    torch.manual_seed(seed)
    model = timm.create_model(architecture, pretrained=False, num_classes=classes)
    folder.mkdir(parents=True, exist_ok=True)
    labels = [f"class {i}" for i in range(classes)]
    save_for_hf(model, str(folder), model_config={"label_names": labels}, safe_serialization=True)
    (folder / "README.md").write_text(CARD.format(architecture=architecture, classes=classes))


def describe_models(models: Sequence[GeneratedModel]) -> List[dict]:
    """JSON-ready rows of the generated models."""
    return [
        {"model_id": m.model_id, "architecture": m.architecture, "classes": m.classes, "weights_bytes": m.weights_bytes}
        for m in models
    ]


PRIMER_PREFIX = "primer"


def build_primers(models_dir: Path, architectures: Sequence[Tuple[str, int]] = ARCHITECTURES) -> List[str]:
    """One small model per architecture, outside the benchmark's set: loaded (and used) once before a
    trace, so that the process's one-time costs (lazy initializations, each architecture's code and
    kernels) are paid before the memory of the trace is measured, and not counted in a model's size."""
    ids = []
    for index, architecture in enumerate(sorted({name for name, _classes in architectures})):
        model_id = f"{ORGANIZATION}/{PRIMER_PREFIX}-{architecture.replace('_', '-')}"
        if not (models_dir / model_id / "model.safetensors").is_file():
            _save(models_dir / model_id, architecture, 10, seed=10_000 + index)
        ids.append(model_id)
    return ids


def is_primer(model_id: str) -> bool:
    return model_id.rpartition("/")[2].startswith(PRIMER_PREFIX)
