"""What a pipeline of each task receives and must return: the docstrings of the generated stubs.

`output_checks` checks the same shapes on the wire; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

LABEL_SCORES = (
    'list of {"label": str, "score": float}, sorted by score descending; at most `top_k` items when '
    "the parameter is given"
)
GENERATED = 'a list with one {"generated_text": str} (the text the model produced)'
AUDIO_IN = (
    "numpy.ndarray, float32, 1-D (mono), sampled at `self.sampling_rate` Hz: the core decodes any "
    "audio format, downmixes and resamples to it. Set `sampling_rate` to the rate the model expects."
)
IMAGE_IN = (
    "PIL.Image.Image in any mode (RGB, RGBA, L, P, I;16, CMYK...), fully loaded, EXIF orientation "
    "not applied; convert it as the model needs (`api_inference_community.media.to_rgb`)."
)
IMAGE_OUT = "a PIL.Image.Image; the core encodes it (PNG by default, or what `Accept` asks)."


@dataclass(frozen=True)
class PipelineDoc:
    """The Python types and the exact description of a task's input and output."""

    inputs: str  # annotation of `inputs`
    output: str  # annotation of the return value
    receives: str
    returns: str


DOCS: Dict[str, PipelineDoc] = {
    "conversational": PipelineDoc(
        "Dict[str, Any]",
        "Dict[str, Any]",
        'dict {"text": str, "past_user_inputs": List[str], "generated_responses": List[str]}: the new '
        "user message and the earlier turns, oldest first.",
        'dict {"generated_text": str, "conversation": {"past_user_inputs": List[str], '
        '"generated_responses": List[str]}}: the reply, and the conversation with this turn appended '
        "(`text` to past_user_inputs, the reply to generated_responses).",
    ),
    "feature-extraction": PipelineDoc(
        "Union[str, List[str]]",
        "Any",
        "str, or a non-empty List[str] when the client sends several texts.",
        "for a str, its embedding: List[float] (one vector), or List[List[float]] (one vector per "
        "token); for a List[str], a list with one such embedding per text, in the same order. numpy "
        "arrays are fine (sent as nested lists).",
    ),
    "question-answering": PipelineDoc(
        "Dict[str, str]",
        "Any",
        'dict {"question": str, "context": str}.',
        'dict {"answer": str, "score": float in [0, 1], "start": int, "end": int} where `start` and '
        "`end` are character offsets and answer == context[start:end]; with `top_k` > 1, a list of at "
        "most `top_k` such dicts sorted by score descending.",
    ),
    "sentence-similarity": PipelineDoc(
        "Dict[str, Any]",
        "List[float]",
        'dict {"source_sentence": str, "sentences": List[str]} (at least one sentence).',
        "List[float]: the similarity of `source_sentence` to each of `sentences`, in the same order.",
    ),
    "fill-mask": PipelineDoc(
        "str",
        "List[Dict[str, Any]]",
        "str holding the model's mask token (e.g. [MASK] or <mask>); raise "
        "`api_inference_community.errors.InvalidInput` (a 400) when it holds none.",
        'list of {"sequence": str, "score": float, "token": int, "token_str": str}, sorted by score '
        "descending; at most `top_k` items (5 by default); only the `targets` tokens when given.",
    ),
    "table-question-answering": PipelineDoc(
        "Dict[str, Any]",
        "Dict[str, Any]",
        'dict {"query": str, "table": Dict[str, List[str]]}: columns by name, all of the same length.',
        'dict {"answer": str, "coordinates": List[[row: int, column: int]], "cells": List[str], "aggregator": str}.',
    ),
    "tabular-classification": PipelineDoc(
        "Dict[str, Any]",
        "List[Any]",
        'dict {"data": Dict[str, List[Any]]}: columns by name, all of the same length (the rows).',
        "a list with one predicted label (str or int) per row, in row order.",
    ),
    "tabular-regression": PipelineDoc(
        "Dict[str, Any]",
        "List[float]",
        'dict {"data": Dict[str, List[Any]]}: columns by name, all of the same length (the rows).',
        "List[float]: one predicted value per row, in row order.",
    ),
    "summarization": PipelineDoc(
        "str",
        "List[Dict[str, str]]",
        "str, the text to summarize.",
        'a list with one {"summary_text": str}.',
    ),
    "text-generation": PipelineDoc(
        "Union[str, List[Dict[str, Any]], Dict[str, Any]]",
        "Any",
        'str, the prompt; or a List of chat messages {"role": str, "content": str or a list of parts}; '
        'or a dict, a whole chat-completion request {"messages": [...], "max_tokens", "temperature", '
        "...} (what InferenceClient.chat_completion posts; unset fields are None).",
        GENERATED + " (for chat messages, the reply); for a chat-completion request, the chat-completion "
        'answer {"id", "object": "chat.completion", "created", "model", "choices": [{"index", "message": '
        '{"role": "assistant", "content"}, "finish_reason"}], "usage"}.',
    ),
    "text2text-generation": PipelineDoc("str", "List[Dict[str, str]]", "str, the input text.", GENERATED + "."),
    "text-classification": PipelineDoc(
        "str",
        "Any",
        "str, the text to classify.",
        LABEL_SCORES + "; or that list inside a list of one, as the Inference API answers and "
        "InferenceClient.text_classification reads it.",
    ),
    "text-to-image": PipelineDoc("str", "Image.Image", "str, the prompt.", IMAGE_OUT),
    "text-to-speech": PipelineDoc(
        "str",
        "Tuple[np.ndarray, int]",
        "str, the text to say.",
        "a tuple (waveform, sampling_rate): waveform a 1-D numpy float32 array in [-1, 1] (mono), "
        "sampling_rate an int in Hz; the core encodes it (FLAC by default, or what `Accept` asks).",
    ),
    "token-classification": PipelineDoc(
        "str",
        "List[Dict[str, Any]]",
        "str, the text to tag.",
        'list of {"entity_group": str, "score": float, "word": str, "start": int, "end": int}, in text '
        "order, `start`/`end` character offsets into the text (key `entity` instead of `entity_group` "
        'when `aggregation_strategy` is "none").',
    ),
    "translation": PipelineDoc(
        "str", "List[Dict[str, str]]", "str, the text to translate.", 'a list with one {"translation_text": str}.'
    ),
    "zero-shot-classification": PipelineDoc(
        "str",
        "Dict[str, Any]",
        "str, the text to classify; `candidate_labels` (required) is a List[str], or one str of "
        "comma-separated labels as the client sent it.",
        'dict {"sequence": str (the input), "labels": List[str], "scores": List[float]}: every '
        "candidate label once, sorted by score descending.",
    ),
    "image-classification": PipelineDoc("Image.Image", "List[Dict[str, Any]]", IMAGE_IN, LABEL_SCORES + "."),
    "image-segmentation": PipelineDoc(
        "Image.Image",
        "List[Dict[str, Any]]",
        IMAGE_IN,
        'list of {"label": str, "score": float or None, "mask": str}: `mask` a base64 PNG, mode "L", '
        "of the input's size, 255 inside the segment (`api_inference_community.media.encode_image`).",
    ),
    "image-to-text": PipelineDoc("Image.Image", "List[Dict[str, str]]", IMAGE_IN, GENERATED + "."),
    "image-to-image": PipelineDoc("Image.Image", "Image.Image", IMAGE_IN, IMAGE_OUT),
    "object-detection": PipelineDoc(
        "Image.Image",
        "List[Dict[str, Any]]",
        IMAGE_IN,
        'list of {"label": str, "score": float, "box": {"xmin": int, "ymin": int, "xmax": int, '
        '"ymax": int}}: boxes in pixels of the input image, scores at least `threshold` when given.',
    ),
    "zero-shot-image-classification": PipelineDoc(
        "Image.Image",
        "List[Dict[str, Any]]",
        IMAGE_IN + " `candidate_labels` (required) is a List[str], or one str of comma-separated labels.",
        'list of {"label": str, "score": float}: every candidate label once, sorted by score descending.',
    ),
    "depth-estimation": PipelineDoc(
        "Image.Image",
        "Dict[str, Any]",
        IMAGE_IN,
        'dict {"depth": str, "predicted_depth": List[List[float]]}: `depth` a base64 PNG, mode "L", of the '
        "input's size (the map scaled to 0-255); `predicted_depth` the model's raw values, row by row.",
    ),
    "mask-generation": PipelineDoc(
        "Image.Image",
        "List[Dict[str, Any]]",
        IMAGE_IN,
        'list of {"label": str (may be empty), "score": float, "mask": str}, sorted by score descending: '
        '`mask` a base64 PNG, mode "L", of the input\'s size, 255 inside the mask.',
    ),
    "zero-shot-object-detection": PipelineDoc(
        "Image.Image",
        "List[Dict[str, Any]]",
        IMAGE_IN + " `candidate_labels` (required) is a List[str], or one str of comma-separated labels.",
        'list of {"label": str (one of the candidate labels), "score": float, "box": {"xmin": int, "ymin": '
        'int, "xmax": int, "ymax": int}}: boxes in pixels of the input image, sorted by score descending.',
    ),
    "visual-question-answering": PipelineDoc(
        "Dict[str, Any]",
        "List[Dict[str, Any]]",
        'dict {"image": Image.Image, "question": str}: the image decoded by the core (any mode, as for '
        "image tasks), and the question.",
        'list of {"answer": str, "score": float}, sorted by score descending; at most `top_k` items.',
    ),
    "document-question-answering": PipelineDoc(
        "Dict[str, Any]",
        "List[Dict[str, Any]]",
        'dict {"image": Image.Image, "question": str}: the document image decoded by the core, and the '
        "question; `word_boxes` (when given) holds the words and their boxes (0-1000).",
        'list of {"answer": str, "score": float, "start": int, "end": int}, sorted by score descending '
        "(`start`/`end`: indices of the answer's first and last word); at most `top_k` items.",
    ),
    "automatic-speech-recognition": PipelineDoc(
        "np.ndarray",
        "Dict[str, Any]",
        AUDIO_IN,
        'dict {"text": str}, optionally with "chunks": List[{"text": str, "timestamp": [float, float]}].',
    ),
    "audio-to-audio": PipelineDoc(
        "np.ndarray",
        "Tuple[List[np.ndarray], int, List[str]]",
        AUDIO_IN,
        "a tuple (waveforms, sampling_rate, labels): waveforms a list of 1-D numpy float32 arrays, "
        "sampling_rate an int in Hz, labels one str per waveform; the core sends "
        '[{"label", "blob" (base64 audio), "content-type"}].',
    ),
    "speech-segmentation": PipelineDoc(
        "np.ndarray",
        "List[Dict[str, Any]]",
        AUDIO_IN,
        'list of {"class": str, "start": float, "end": float}: seconds, start <= end, in time order.',
    ),
    "audio-classification": PipelineDoc("np.ndarray", "List[Dict[str, Any]]", AUDIO_IN, LABEL_SCORES + "."),
    "latent-to-image": PipelineDoc(
        "np.ndarray",
        "Image.Image",
        "numpy.ndarray of the shape and dtype the client sent (bfloat16 arrives widened to float32).",
        IMAGE_OUT,
    ),
}
