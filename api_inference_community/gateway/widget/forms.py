"""Every task's widget: its form fields, where each value goes in the request, and how the answer is shown.

A field's `path` places its value in the request body the page sends (`inputs`, `inputs.question`,
`parameters.top_k`, `parameters.generate_parameters.max_new_tokens`); its `kind` says how the
browser reads it (see `KINDS`). Empty optional fields are left out, so the model's defaults apply.
`renderer` names the renderer of the answer's shape in `static/renderers.js`; `client_method` is
the `huggingface_hub.InferenceClient` method the "copy as Python" snippet calls (None: the task has
none, the snippet posts the body itself), and each field's `arg` the argument it becomes there
("" for the method's first, positional argument; `a.b` for a key of a dict argument).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from ...tasks.registry import InputKind, get_task

# how the browser reads a field's value
KINDS = {
    "text": "a string",
    "lines": "a list of strings, one per non-empty line",
    "list": "a list of strings, comma-separated",
    "int": "an integer",
    "float": "a number",
    "bool": "true when checked (left out otherwise)",
    "choice": "one of `choices`",
    "csv": "a table: CSV with a header row -> {column: [values]}",
    "json": "any JSON value",
    "image": "an image file: raw bytes, or base64 when the body is JSON",
    "audio": "an audio file or a recording: raw bytes, or base64 when the body is JSON",
}
RENDERERS = (
    "labels",  # [{label|answer, score}], nested [[...]], or {labels, scores}: score bars
    "entities",  # [{entity_group|entity, score, word, start, end}]: highlighted in the text
    "fill-mask",  # [{sequence, score, token_str}]: the filled sentences with score bars
    "answer",  # {answer, score, start, end} (or a list): highlighted in the context
    "table-answer",  # {answer, cells, coordinates, aggregator}
    "text",  # generated text under any of the tasks' keys
    "embedding",  # a vector (or vectors): its size and first values
    "similarity",  # one score per sentence: a table with bars
    "boxes",  # [{label, score, box}]: drawn over the image
    "masks",  # [{label, score, mask (base64 PNG)}]: overlaid on the image
    "depth",  # {depth (base64 PNG), predicted_depth}: the depth map beside the image
    "image",  # an image answer (binary)
    "audio",  # an audio answer (binary): a player
    "audio-list",  # [{label, blob (base64), content-type}]: one player each
    "segments",  # [{class, start, end}]: a table of time segments
    "values",  # one prediction per table row
)


@dataclass(frozen=True)
class Field:
    """One form control and where its value goes in the request."""

    name: str  # the control's id and name
    label: str
    path: str
    kind: str
    default: str = ""
    required: bool = False
    help: str = ""
    choices: Tuple[str, ...] = ()
    arg: Optional[str] = None  # InferenceClient argument; None: the client has none (the snippet posts JSON)


@dataclass(frozen=True)
class TaskForm:
    task: str
    fields: Tuple[Field, ...]
    renderer: str
    client_method: Optional[str]

    @property
    def input_kind(self) -> InputKind:
        return get_task(self.task).input_kind


SAMPLE_TEXT = "My name is Sarah and I live in London."
SENTENCES = "A cat naps on the sofa\nStocks fell sharply today"
TABLE = "Repository,Stars\nTransformers,36542\nDatasets,4512"
ROWS = "feature_a,feature_b\n1.0,2.0\n3.0,4.0"
TENSOR = '{"data": "AAAAAAAAAAAAAAAAAAAAAA==", "shape": [1, 4, 1, 1], "dtype": "float32"}'
WORD_BOXES = '[["Invoice", [50, 40, 250, 90]], ["total", [50, 600, 200, 650]], ["42", [600, 600, 700, 650]]]'
MASK = "{mask}"  # replaced by the model's mask token (from its tokenizer files) or [MASK]


def text(default: str, label: str = "Text", name: str = "text") -> Field:
    return Field(name, label, "inputs", "text", default, required=True, arg="")


def image(path: str = "inputs", arg: str = "") -> Field:
    return Field("image", "Image", path, "image", required=True, help="Choose a file or drop an image here", arg=arg)


def audio() -> Field:
    return Field("audio", "Audio", "inputs", "audio", required=True, help="Choose a file, drop one, or record", arg="")


def top_k(arg: Optional[str] = "top_k") -> Field:
    return Field(
        "top_k", "Top k", "parameters.top_k", "int", help="How many results (empty: the model's default)", arg=arg
    )


def labels(default: str) -> Field:
    return Field(
        "candidate_labels",
        "Candidate labels",
        "parameters.candidate_labels",
        "list",
        default,
        required=True,
        help="Comma-separated",
        arg="candidate_labels",
    )


def threshold() -> Field:
    return Field(
        "threshold", "Threshold", "parameters.threshold", "float", help="0 to 1 (empty: default)", arg="threshold"
    )


def new_tokens(path: str = "parameters.max_new_tokens", arg: Optional[str] = "max_new_tokens") -> Field:
    return Field("max_new_tokens", "Max new tokens", path, "int", help="Length of the generated text", arg=arg)


def question(default: str, path: str = "inputs.question") -> Field:
    return Field("question", "Question", path, "text", default, required=True, arg="question")


_SEQ2SEQ_TOKENS = new_tokens("parameters.generate_parameters.max_new_tokens", "generate_parameters.max_new_tokens")

_FORMS = (
    # text in
    TaskForm("feature-extraction", (text("Today is a sunny day"),), "embedding", "feature_extraction"),
    TaskForm(
        "sentence-similarity",
        (
            Field("source_sentence", "Source sentence", "inputs.source_sentence", "text", "A cat sleeps", True, arg=""),
            Field(
                "sentences",
                "Sentences to compare",
                "inputs.sentences",
                "lines",
                SENTENCES,
                True,
                help="One per line",
                arg="other_sentences",
            ),
        ),
        "similarity",
        "sentence_similarity",
    ),
    TaskForm("text-classification", (text("I like you. I love you."), top_k()), "labels", "text_classification"),
    TaskForm(
        "zero-shot-classification",
        (
            text("My phone is broken, fix it asap!"),
            labels("urgent, not urgent, phone"),
            Field("multi_label", "Several labels may be true", "parameters.multi_label", "bool", arg="multi_label"),
        ),
        "labels",
        "zero_shot_classification",
    ),
    TaskForm(
        "token-classification",
        (
            text(SAMPLE_TEXT),
            Field(
                "aggregation_strategy",
                "Aggregation",
                "parameters.aggregation_strategy",
                "choice",
                choices=("", "none", "simple", "first", "average", "max"),
                help="How word pieces are grouped (empty: the model's default)",
                arg="aggregation_strategy",
            ),
        ),
        "entities",
        "token_classification",
    ),
    TaskForm(
        "fill-mask",
        (text(f"Paris is the {MASK} of France."), top_k()),
        "fill-mask",
        "fill_mask",
    ),
    TaskForm(
        "question-answering",
        (
            question("Where do I live?"),
            Field("context", "Context", "inputs.context", "text", SAMPLE_TEXT, True, arg="context"),
        ),
        "answer",
        "question_answering",
    ),
    TaskForm(
        "table-question-answering",
        (
            Field(
                "query", "Question", "inputs.query", "text", "How many stars does Transformers have?", True, arg="query"
            ),
            Field("table", "Table", "inputs.table", "csv", TABLE, True, help="CSV with a header row", arg="table"),
        ),
        "table-answer",
        "table_question_answering",
    ),
    TaskForm(
        "tabular-classification",
        (Field("data", "Rows", "inputs.data", "csv", ROWS, True, help="CSV with a header row", arg="table"),),
        "values",
        "tabular_classification",
    ),
    TaskForm(
        "tabular-regression",
        (Field("data", "Rows", "inputs.data", "csv", ROWS, True, help="CSV with a header row", arg="table"),),
        "values",
        "tabular_regression",
    ),
    TaskForm(
        "summarization", (text("The story of a bakery in London. " * 3), _SEQ2SEQ_TOKENS), "text", "summarization"
    ),
    TaskForm(
        "translation",
        (
            text("How old are you?"),
            Field("src_lang", "Source language", "parameters.src_lang", "text", arg="src_lang"),
            Field("tgt_lang", "Target language", "parameters.tgt_lang", "text", arg="tgt_lang"),
            _SEQ2SEQ_TOKENS,
        ),
        "text",
        "translation",
    ),
    TaskForm("text2text-generation", (text("translate English to German: Hello"), new_tokens(arg=None)), "text", None),
    TaskForm("text-generation", (text("Once upon a time,", "Prompt"), new_tokens()), "text", "text_generation"),
    TaskForm("conversational", (Field("text", "Message", "inputs.text", "text", "Hi!", True),), "text", None),
    TaskForm("text-to-image", (text("a yellow square on a blue background", "Prompt"),), "image", "text_to_image"),
    TaskForm("text-to-speech", (text("Hello world"),), "audio", "text_to_speech"),
    # image in
    TaskForm("image-classification", (image(), top_k()), "labels", "image_classification"),
    TaskForm(
        "zero-shot-image-classification",
        (image(), labels("cat, dog, bird")),
        "labels",
        "zero_shot_image_classification",
    ),
    TaskForm("object-detection", (image(), threshold()), "boxes", "object_detection"),
    TaskForm(
        "zero-shot-object-detection",
        (image(), labels("square, circle"), threshold()),
        "boxes",
        None,
    ),
    TaskForm("image-segmentation", (image(), threshold()), "masks", "image_segmentation"),
    TaskForm("mask-generation", (image(),), "masks", None),
    TaskForm("depth-estimation", (image(),), "depth", None),
    TaskForm("image-to-text", (image(),), "text", "image_to_text"),
    TaskForm(
        "image-to-image",
        (image(), Field("prompt", "Prompt", "parameters.prompt", "text", arg="prompt")),
        "image",
        "image_to_image",
    ),
    TaskForm(
        "visual-question-answering",
        (image("inputs.image"), question("What is in the picture?"), top_k()),
        "labels",
        "visual_question_answering",
    ),
    TaskForm(
        "document-question-answering",
        (
            image("inputs.image"),
            question("What is the total?"),
            Field(
                "word_boxes",
                "Words and their boxes",
                "parameters.word_boxes",
                "json",
                WORD_BOXES,
                help="[[word, [x0, y0, x1, y1]], ...] in 0-1000, from an OCR (empty for a model that reads the image)",
                arg="word_boxes",
            ),
            top_k(),
        ),
        "labels",
        "document_question_answering",
    ),
    # audio in
    TaskForm("automatic-speech-recognition", (audio(),), "text", "automatic_speech_recognition"),
    TaskForm("audio-classification", (audio(), top_k()), "labels", "audio_classification"),
    TaskForm("audio-to-audio", (audio(),), "audio-list", "audio_to_audio"),
    TaskForm("speech-segmentation", (audio(),), "segments", None),
    # tensor in
    TaskForm(
        "latent-to-image",
        (Field("tensor", "Tensor", "inputs", "json", TENSOR, True, help="{data (base64), shape, dtype}"),),
        "image",
        None,
    ),
)

FORMS: Dict[str, TaskForm] = {form.task: form for form in _FORMS}


def form_for(task: str) -> TaskForm:
    """The widget of `task` (every task of the registry has one)."""
    return FORMS[task]
