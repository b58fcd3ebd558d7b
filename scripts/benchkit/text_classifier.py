"""Benchmark models for the transformers image: a text classifier of realistic size, and the tiny
test models of other tasks.

The text classifier is the bundled all-MiniLM-L6-v2 (a 6-layer BERT, 22M parameters) loaded as
`BertForSequenceClassification` with 2 labels: the encoder keeps its trained weights, the
classification head is initialised with a fixed seed (its answers are arbitrary, its cost is
real). The tiny models are the transformers image's own test models (`tests/tiny_models.py`).
Every folder is written under `.cache/benchmarks/` once; building again changes nothing.

    .venv/bin/python scripts/benchkit/text_classifier.py                       # the classifier's folder
    .venv/bin/python scripts/benchkit/text_classifier.py --tiny image-classification
    .venv/bin/python scripts/benchkit/text_classifier.py --payload automatic-speech-recognition

Served by scripts/benchmark.py (`--env BACKEND=onnx`, `--env QUANTIZE=dynamic-int8` for the others):

    .venv/bin/python scripts/benchmark.py --image docker_images/transformers --task text-classification \\
        --model "$(.venv/bin/python scripts/benchkit/text_classifier.py)" --concurrency 1,8,32 --markdown
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import shutil
import sys
import wave
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent.parent  # the checkout
CACHE = ROOT / ".cache" / "benchmarks"
TINY_MODELS = ROOT / "docker_images" / "transformers" / "tests"  # tiny_models.py
LABELS = ("NEGATIVE", "POSITIVE")
SEED = 0
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
CARD = """---
library_name: transformers
pipeline_tag: text-classification
tags: [text-classification, benchmark]
---
# A generated benchmark model

all-MiniLM-L6-v2's encoder as a BERT sequence classifier with {labels} labels. The classification
head is initialised at random (seed {seed}): its answers are arbitrary.
"""


def build_text_classifier(folder: Optional[Path] = None, seed: int = SEED) -> Path:
    """The bundled MiniLM as a 2-label BertForSequenceClassification in `folder`, built where missing."""
    folder = folder or CACHE / "minilm-l6-text-classification"
    if (folder / "model.safetensors").is_file() and (folder / "config.json").is_file():
        return folder
    import torch
    from transformers import BertForSequenceClassification

    from api_inference_community.maintainers.bundled import bundled_model_dir

    source = bundled_model_dir()
    torch.manual_seed(seed)  # the head's initialisation
    model = BertForSequenceClassification.from_pretrained(
        str(source),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder), safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, folder / name)
    (folder / "README.md").write_text(CARD.format(labels=len(LABELS), seed=seed))
    return folder


def build_tiny(task: str, root: Optional[Path] = None) -> Path:
    """The transformers image's tiny test model of `task`, built under `root` where missing."""
    if str(TINY_MODELS) not in sys.path:
        sys.path.insert(0, str(TINY_MODELS))
    import tiny_models

    name = tiny_models.TASK_MODELS[task]
    return tiny_models.build(root or CACHE / "tiny", [name])[name]


def wav_bytes(seconds: float = 1.0, rate: int = 16000, seed: int = 0) -> bytes:
    """A mono 16-bit WAV of a seeded tone with noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.shape)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def payload(task: str) -> str:
    """A JSON request body for `task`: a sentence, a 320x240 JPEG or 1 s of audio, base64 for media."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchkit, run as a script
    from benchkit.payloads import base64_json, photo_jpeg

    if task == "image-classification":
        return base64_json(photo_jpeg())
    if task in ("automatic-speech-recognition", "audio-classification"):
        return json.dumps({"inputs": base64.b64encode(wav_bytes()).decode()})
    return json.dumps({"inputs": "I love this place, the food is wonderful."})


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tiny", metavar="TASK", help="print the folder of the tiny test model of TASK")
    parser.add_argument("--payload", metavar="TASK", help="print a JSON request body for TASK")
    args = parser.parse_args(argv)
    if args.payload:
        print(payload(args.payload))
    elif args.tiny:
        print(build_tiny(args.tiny))
    else:
        print(build_text_classifier())
    return 0


if __name__ == "__main__":
    sys.exit(main())
