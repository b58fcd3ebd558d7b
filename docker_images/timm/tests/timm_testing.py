"""Helpers of the timm image's tests: tiny timm models in the Hub format, generated images."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import timm
import torch
from PIL import Image
from timm.models import save_for_hf

from api_inference_community.testing.environment import environment
from api_inference_community.testing.hub_cache import make_hub_cache

LABELS = ["cat", "dog", "bird", "fish"]
# Deliberately not timm's defaults, so the tests prove the model's own data config is used.
DATA_CONFIG = {
    "input_size": [3, 96, 96],
    "interpolation": "bicubic",
    "crop_pct": 0.8,
    "crop_mode": "center",
    "mean": [0.40, 0.45, 0.50],
    "std": [0.20, 0.25, 0.30],
}
LABELED_ID = "org/tiny-resnet"
IMAGENET_ID = "org/tiny-vit-in1k"


@dataclass(frozen=True)
class Models:
    labeled: Path  # test_resnet, 4 named classes, custom data config, model.safetensors
    imagenet: Path  # test_vit, 1000 classes, no label names: ImageNet labels
    plain: Path  # test_convnext, 3 classes, no label names, pytorch_model.bin only: LABEL_i
    hf_home: Path  # an offline Hub cache holding `labeled` and `imagenet` as LABELED_ID and IMAGENET_ID


def save_timm_model(
    directory: Path,
    architecture: str,
    num_classes: int,
    *,
    label_names: Optional[list] = None,
    pretrained_cfg: Optional[dict] = None,
    safetensors: bool = True,
    head_scale: float = 1.0,
    seed: int = 0,
) -> Path:
    """A randomly initialized timm model, saved as the Hub stores timm models."""
    torch.manual_seed(seed)
    model = timm.create_model(architecture, pretrained=False, num_classes=num_classes)
    with torch.no_grad():  # random heads give near-uniform scores: sharpen them
        for parameter in model.get_classifier().parameters():
            parameter.mul_(head_scale)
    model_config = {"label_names": label_names} if label_names else None
    save_for_hf(model, str(directory), model_config=model_config, safe_serialization=safetensors)
    if pretrained_cfg:
        config_path = directory / "config.json"
        config = json.loads(config_path.read_text())
        config["pretrained_cfg"].update(pretrained_cfg)
        config_path.write_text(json.dumps(config, indent=2))
    return directory


def build_models(root: Path) -> Models:
    labeled = save_timm_model(
        root / "labeled", "test_resnet", 4, label_names=LABELS, pretrained_cfg=DATA_CONFIG, head_scale=30.0
    )
    imagenet = save_timm_model(root / "imagenet", "test_vit", 1000, head_scale=10.0, seed=1)
    plain = save_timm_model(root / "plain", "test_convnext", 3, safetensors=False, head_scale=10.0, seed=2)
    hf_home = root / "hf_home"
    make_hub_cache(hf_home / "hub", LABELED_ID, labeled)
    make_hub_cache(hf_home / "hub", IMAGENET_ID, imagenet)
    return Models(labeled=labeled, imagenet=imagenet, plain=plain, hf_home=hf_home)


def make_pipeline(model_dir: Path, **env: Optional[str]):
    """An ImageClassificationPipeline built under the given environment (BACKEND defaults to torch)."""
    from app.pipelines import ImageClassificationPipeline

    env.setdefault("BACKEND", None)
    with environment(**env):
        return ImageClassificationPipeline(str(model_dir))


# ---------------------------------------------------------------- images


def picture(size=(120, 90), seed: int = 0) -> Image.Image:
    """A deterministic RGB picture: a gradient with a few coloured blocks."""
    width, height = size
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    for _ in range(4):
        x0, y0 = rng.randint(0, width - 10), rng.randint(0, height - 10)
        pixels[y0 : y0 + height // 3, x0 : x0 + width // 3] = rng.randint(0, 256, size=3)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def animated_gif(first: Image.Image, second: Image.Image) -> bytes:
    buffer = io.BytesIO()
    first.save(buffer, format="GIF", save_all=True, append_images=[second], duration=100, loop=0)
    return buffer.getvalue()


def sample_images() -> Dict[str, bytes]:
    """Encoded test images: name -> bytes, over formats and modes."""
    rgb = picture()
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, rgb.width, dtype=np.uint8), (rgb.height, 1))))
    grey = rgb.convert("L")
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    cmyk = rgb.convert("CMYK")
    deep = Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)  # 16-bit grey ("I;16")
    return {
        "jpeg-rgb": encode(rgb, "JPEG", quality=95),
        "jpeg-l": encode(grey, "JPEG"),
        "jpeg-cmyk": encode(cmyk, "JPEG"),
        "png-rgb": encode(rgb, "PNG"),
        "png-rgba": encode(rgba, "PNG"),
        "png-l": encode(grey, "PNG"),
        "png-la": encode(rgba.convert("LA"), "PNG"),
        "png-p": encode(palette, "PNG"),
        "png-16bit": encode(deep, "PNG"),
        "webp-rgb": encode(rgb, "WEBP", lossless=True),
        "webp-rgba": encode(rgba, "WEBP"),
        "gif-animated": animated_gif(palette, palette.transpose(Image.Transpose.ROTATE_180)),
        "bmp-rgb": encode(rgb, "BMP"),
        "tiff-rgb": encode(rgb, "TIFF"),
        "tiff-cmyk": encode(cmyk, "TIFF"),
        "tiff-16bit": encode(deep, "TIFF"),
    }
