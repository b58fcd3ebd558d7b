"""Example requests of every task: valid ones, and a battery of malformed ones.

Media are generated here (PIL, numpy), never read from files. Each valid example keeps what
was sent, so that `output_checks` can compare the answer with its request.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from PIL import Image

from .. import media
from ..tasks.registry import TASKS


@dataclass(frozen=True)
class Example:
    """One request body, with the inputs and parameters it carries (for the output checks)."""

    name: str
    body: bytes
    content_type: str
    inputs: Any
    parameters: Dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------- media


def picture(mode: str = "RGB", size: Tuple[int, int] = (64, 48)) -> Image.Image:
    """A gradient with a square in it, converted to `mode`."""
    x, y = np.meshgrid(np.linspace(0, 255, size[0]), np.linspace(0, 255, size[1]))
    pixels = np.stack([x, y, 255 - x], axis=-1).astype(np.uint8)
    pixels[size[1] // 4 : size[1] // 2, size[0] // 4 : size[0] // 2] = (250, 200, 0)
    return Image.fromarray(pixels, "RGB").convert(mode)


def image_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def tone(seconds: float = 1.0, rate: int = 16000, channels: int = 1) -> np.ndarray:
    """A 440 Hz sine, `(samples,)` or `(channels, samples)`, float32 in [-0.5, 0.5]."""
    t = np.arange(int(seconds * rate)) / rate
    wave = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels)


def audio_bytes(waveform: np.ndarray, rate: int, fmt: str = "wav") -> bytes:
    return media.encode_audio(waveform, rate, fmt)


# -------------------------------------------------------------- builders


def json_example(name: str, inputs: Any, parameters: Optional[Dict[str, Any]] = None) -> Example:
    document: Dict[str, Any] = {"inputs": inputs}
    if parameters:
        document["parameters"] = parameters
    return Example(name, json.dumps(document).encode(), "application/json", inputs, dict(parameters or {}))


def image_examples(parameters: Optional[Dict[str, Any]] = None, raw: bool = True) -> List[Example]:
    """Raw RGB PNG, RGBA PNG and grayscale JPEG bytes, and a base64 JSON body with `parameters`."""
    rgb = picture()
    encoded = base64.b64encode(image_bytes(rgb)).decode("ascii")
    sent = json_example("base64 PNG in JSON", encoded, parameters)
    examples = [Example(sent.name, sent.body, sent.content_type, rgb, sent.parameters)]
    if raw:
        for name, mode, fmt in (
            ("RGB PNG", "RGB", "PNG"),
            ("RGBA PNG", "RGBA", "PNG"),
            ("grayscale JPEG", "L", "JPEG"),
        ):
            image = picture(mode)
            examples.append(Example(f"raw {name}", image_bytes(image, fmt), f"image/{fmt.lower()}", image))
    return examples


def image_question_examples(question: str, parameters: Optional[Dict[str, Any]] = None) -> List[Example]:
    """An image (base64 PNG) with a question, nested in `inputs` as the Hub's specification gives it.

    (InferenceClient.visual_question_answering sends the question beside a base64 `inputs`: the core
    folds it in too, see `validation.fold_image_fields`.)
    """
    rgb = picture()
    encoded = base64.b64encode(image_bytes(rgb)).decode("ascii")
    sent = json_example("image and question", {"image": encoded, "question": question}, parameters)
    return [Example(sent.name, sent.body, sent.content_type, {"image": rgb, "question": question}, sent.parameters)]


def audio_examples(parameters: Optional[Dict[str, Any]] = None) -> List[Example]:
    """Raw mono WAV at 16 kHz, raw stereo FLAC at 44.1 kHz, and base64 JSON with `parameters`."""
    mono, stereo = tone(), tone(0.5, 44100, channels=2)
    wav = audio_bytes(mono, 16000)
    sent = json_example("base64 WAV in JSON", base64.b64encode(wav).decode("ascii"), parameters)
    return [
        Example("raw mono WAV 16 kHz", wav, "audio/wav", mono),
        Example("raw stereo FLAC 44.1 kHz", audio_bytes(stereo, 44100, "flac"), "audio/flac", stereo),
        Example(sent.name, sent.body, sent.content_type, mono, sent.parameters),
    ]


def tensor_example() -> Example:
    latents = np.linspace(-1, 1, 4 * 8 * 8, dtype=np.float32).reshape(1, 4, 8, 8)
    document = {
        "inputs": base64.b64encode(latents.tobytes()).decode("ascii"),
        "shape": [1, 4, 8, 8],
        "dtype": "float32",
    }
    return Example("float32 latents", json.dumps(document).encode(), "application/json", latents)


TEXT = "My name is Sarah and I live in London"
CONTEXT = "My name is Sarah and I live in London. I work at a bakery."
LABELS = ["urgent", "not urgent", "phone"]
# an invoice's words and their boxes, normalized to 0-1000 (document question answering without OCR)
WORD_BOXES = [["Invoice", [50, 40, 250, 90]], ["total", [50, 600, 200, 650]], ["42", [600, 600, 700, 650]]]

BUILDERS: Dict[str, Callable[[], List[Example]]] = {
    "conversational": lambda: [
        json_example(
            "conversation",
            {"text": "Which movie is the best?", "past_user_inputs": ["Hi!"], "generated_responses": ["Hello."]},
        )
    ],
    "feature-extraction": lambda: [
        json_example("one text", "Today is a sunny day"),
        json_example("two texts", ["Today is a sunny day", "The weather is lovely, isn't it?"]),
    ],
    "question-answering": lambda: [
        json_example("question", {"question": "Where does Sarah live?", "context": CONTEXT}),
        json_example("top_k=2", {"question": "Where does Sarah work?", "context": CONTEXT}, {"top_k": 2}),
    ],
    "sentence-similarity": lambda: [
        json_example(
            "three sentences",
            {"source_sentence": "That is a happy person", "sentences": ["That is a happy dog", "A sunny day", "Hi"]},
        )
    ],
    "fill-mask": lambda: [json_example("[MASK] token", "The capital of France is [MASK].")],
    "table-question-answering": lambda: [
        json_example(
            "table",
            {
                "query": "How many stars does transformers have?",
                "table": {"Repository": ["Transformers", "Datasets"], "Stars": ["36542", "4512"]},
            },
        )
    ],
    "tabular-classification": lambda: [json_example("three rows", {"data": {"a": [1.0, 2.0, 3.0], "b": [0, 1, 0]}})],
    "tabular-regression": lambda: [json_example("three rows", {"data": {"a": [1.0, 2.0, 3.0], "b": [0, 1, 0]}})],
    "summarization": lambda: [json_example("text", CONTEXT + " " + TEXT)],
    "text-generation": lambda: [json_example("prompt", "Once upon a time,")],
    "text2text-generation": lambda: [json_example("text", "translate English to German: How old are you?")],
    "text-classification": lambda: [
        json_example("text", "I like you. I love you"),
        json_example("top_k=1", "I like you. I love you", {"top_k": 1}),
    ],
    "text-to-image": lambda: [json_example("prompt", "a yellow square on a blue background")],
    "text-to-speech": lambda: [json_example("text", "Hello world")],
    "token-classification": lambda: [json_example("text", TEXT)],
    "translation": lambda: [json_example("text", TEXT)],
    "zero-shot-classification": lambda: [
        json_example("label list", "My phone is broken, fix it asap!", {"candidate_labels": LABELS}),
        json_example("comma-separated labels", "My phone is broken!", {"candidate_labels": ",".join(LABELS)}),
    ],
    "image-classification": lambda: image_examples({"top_k": 2}),
    "image-segmentation": lambda: image_examples(),
    "image-to-text": lambda: image_examples(),
    "image-to-image": lambda: image_examples(),
    "object-detection": lambda: image_examples({"threshold": 0.5}),
    "zero-shot-image-classification": lambda: image_examples({"candidate_labels": ["cat", "dog", "square"]}, raw=False),
    "depth-estimation": lambda: image_examples(),
    "mask-generation": lambda: image_examples({"points_per_crop": 8}),
    "zero-shot-object-detection": lambda: image_examples({"candidate_labels": ["cat", "dog", "square"]}, raw=False),
    "visual-question-answering": lambda: image_question_examples("What is in the picture?", {"top_k": 2}),
    "document-question-answering": lambda: image_question_examples(
        "What is the total?", {"word_boxes": WORD_BOXES, "top_k": 2}
    ),
    "automatic-speech-recognition": lambda: audio_examples(),
    "audio-to-audio": lambda: audio_examples(),
    "speech-segmentation": lambda: audio_examples(),
    "audio-classification": lambda: audio_examples({"top_k": 2}),
    "latent-to-image": lambda: [tensor_example()],
}


@functools.cache
def valid_examples(task: str) -> Tuple[Example, ...]:
    """Requests every pipeline of `task` must answer with a 200 and a well-formed output."""
    return tuple(BUILDERS[task]())


# -------------------------------------------------------------- malformed


@functools.cache
def malformed_bodies(task: str) -> Tuple[Tuple[str, bytes], ...]:
    """Bodies that must get a 200 or a 4xx with a JSON error, never a 5xx.

    Garbage, invalid UTF-8, broken and empty documents, truncated media, and the valid JSON
    requests of every other task.
    """
    noise = random.Random(0).randbytes(512)
    png = image_bytes(picture())
    bodies = [
        ("empty body", b""),
        ("random bytes", noise),
        ("invalid UTF-8", b"\xff\xfe\xfd not UTF-8 \xc3\x28"),
        ("truncated JSON", b'{"inputs": "unterminated'),
        ("JSON null", b"null"),
        ("empty JSON list", b"[]"),
        ("JSON object without inputs", b'{"parameters": {}}'),
        ("null inputs", b'{"inputs": null}'),
        ("nested lists", b'{"inputs": [[["deep"]]]}'),
        ("parameters not an object", b'{"inputs": "text", "parameters": [1, 2]}'),
        ("options not an object", b'{"inputs": "text", "options": "fast"}'),
        ("truncated PNG", png[: len(png) // 3]),
        ("truncated WAV", audio_bytes(tone(0.2), 16000)[:100]),
        ("base64 garbage", b'{"inputs": "!!!not base64!!!"}'),
    ]
    seen = {body for _, body in bodies}
    for other in sorted(TASKS):
        if other == task:
            continue
        for example in valid_examples(other):
            if example.content_type == "application/json" and example.body not in seen:
                seen.add(example.body)
                bodies.append((f"a {other} request ({example.name})", example.body))
                break
    return tuple(bodies)
