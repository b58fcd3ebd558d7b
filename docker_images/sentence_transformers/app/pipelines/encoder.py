"""What both tasks share: a sentence-transformers model loaded with the configured backend, and
the one call that turns texts into embeddings under a request's parameters.

Backends (`BACKEND`): `torch` (default), `onnx` (ONNX Runtime) and `openvino`. The last two need
the model in their format: a file shipped with the model (`onnx/model.onnx`, `openvino/openvino_model.xml`)
is used as is; otherwise the model is exported once, at load, from its local files, and the export
is stored for the next start (`find_export`, `store_export`) where the core keeps every image's
exports (`api_inference_community.runtime.exports`): `$HF_HOME/exports/sentence-transformers/<backend>/`,
private, published atomically, never in the model folder (mounted volumes, installed packages and
the Hub cache's snapshots are left as they are) nor in a shared temporary folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize

from api_inference_community.errors import InvalidInput
from api_inference_community.runtime import exports
from api_inference_community.runtime.onnx_sessions import session_options
from api_inference_community.runtime.settings import Settings, get_settings
from api_inference_community.runtime.threads import available_cpus

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "openvino")
LIBRARY = "sentence-transformers"  # exports live in $HF_HOME/exports/<LIBRARY>/<backend>/
WARM_UP_TEXT = "Warm up."
ENCODE_BATCH_SIZE = 32  # texts per forward pass at least (MAX_BATCH_SIZE when larger); sorted by length


@dataclass(frozen=True)
class ExportFormat:
    """Where a backend's files live in a model folder, and what an export of it depends on."""

    backend: str
    subfolder: str
    main_file: str  # the file that holds the model in this format
    distributions: Tuple[str, ...]  # packages whose versions name an export


FORMATS: Dict[str, ExportFormat] = {
    "onnx": ExportFormat("onnx", "onnx", "model.onnx", ("torch", "transformers", "optimum-onnx")),
    "openvino": ExportFormat(
        "openvino", "openvino", "openvino_model.xml", ("torch", "transformers", "optimum-intel", "openvino")
    ),
}


# ---------------------------------------------------------------- requests


@dataclass(frozen=True)
class EncodeOptions:
    """A request's parameters, as the encoder applies them.

    normalize: None keeps the model's own output (normalized when the model ends with a Normalize
    module, re-normalized after `dimensions` cuts it); True L2-normalizes; False returns the
    embedding before the model's final Normalize module.
    truncate: inputs longer than the model's maximum sequence length are cut (the default); False
    refuses them (400). truncation_side: which end is cut ("right" by default).
    """

    normalize: Optional[bool] = None
    truncate: bool = True
    truncation_side: Optional[str] = None
    prompt_name: Optional[str] = None
    dimensions: Optional[int] = None

    @classmethod
    def from_parameters(
        cls,
        task: str,
        normalize: Optional[bool] = None,
        truncate: Optional[bool] = None,
        truncation_direction: Optional[str] = None,
        prompt_name: Optional[str] = None,
        dimensions: Optional[int] = None,
        **unknown: Any,
    ) -> EncodeOptions:
        if unknown:
            raise InvalidInput(f"Unknown parameters for {task}: {', '.join(f'`{name}`' for name in sorted(unknown))}")
        return cls(
            normalize=normalize,
            truncate=True if truncate is None else truncate,
            truncation_side=truncation_direction.lower() if truncation_direction else None,
            prompt_name=prompt_name,
            dimensions=dimensions,
        )


class Encoder:
    """A loaded model and the knowledge of what it accepts (prompts, dimension, sequence length)."""

    def __init__(self, model: SentenceTransformer, backend: str = "torch", batch_size: int = 32) -> None:
        self.model = model
        self.backend = backend
        self.batch_size = batch_size
        self.dimension: int = model.get_embedding_dimension()
        self.max_seq_length: Optional[int] = model.max_seq_length
        self.tokenizer = model.tokenizer
        modules = list(model)
        self.normalizes = bool(modules) and isinstance(modules[-1], Normalize)
        # The same modules without the final Normalize (normalize=false); shares the weights.
        self.unnormalized = model
        if self.normalizes:
            self.unnormalized = SentenceTransformer(
                modules=modules[:-1],
                device=str(model.device),
                prompts=dict(model.prompts),
                default_prompt_name=model.default_prompt_name,
                truncate_dim=model.truncate_dim,
            )

    def check(self, options: EncodeOptions) -> None:
        """Refuse (InvalidInput, a 400 the client reads) what this model cannot do; names the parameter."""
        if options.prompt_name is not None and options.prompt_name not in self.model.prompts:
            known = ", ".join(f"`{name}`" for name in self.model.prompts)
            raise InvalidInput(
                f"`parameters.prompt_name`: unknown prompt `{options.prompt_name}`; "
                + (f"this model's prompts are: {known}" if known else "this model has no named prompts")
            )
        if options.dimensions is not None and options.dimensions > self.dimension:
            raise InvalidInput(
                f"`parameters.dimensions`: {options.dimensions} is more than the model's "
                f"embedding dimension ({self.dimension})"
            )
        if options.truncation_side not in (None, "left", "right"):
            raise InvalidInput(
                f"`parameters.truncation_direction`: must be `left` or `right` ({options.truncation_side})"
            )

    def check_lengths(self, named_texts: Sequence[Tuple[str, str]], options: EncodeOptions) -> None:
        """With truncate=false: refuse the first text longer than the model's maximum sequence length."""
        if options.truncate or not self.max_seq_length or self.tokenizer is None or not named_texts:
            return
        prompt = self._prompt(options)
        encoded = self.tokenizer(
            [prompt + text for _, text in named_texts], add_special_tokens=True, truncation=False, verbose=False
        )
        for (name, _), ids in zip(named_texts, encoded["input_ids"]):
            if len(ids) > self.max_seq_length:
                raise InvalidInput(
                    f"`{name}`: {len(ids)} tokens, more than the model's maximum sequence length of "
                    f"{self.max_seq_length} (leave `truncate` unset or true to truncate it)"
                )

    def encode(self, texts: List[str], options: EncodeOptions) -> np.ndarray:
        """Embeddings of `texts`, one float32 row each, under `options` (checked first)."""
        self.check(options)
        model = self.unnormalized if options.normalize is False else self.model
        with self._truncation_side(options.truncation_side):
            vectors = model.encode(
                texts,
                prompt_name=options.prompt_name,
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        vectors = np.asarray(vectors, dtype=np.float32)
        cut = options.dimensions is not None and options.dimensions < vectors.shape[1]
        if cut:
            vectors = vectors[:, : options.dimensions]
        if options.normalize or (options.normalize is None and self.normalizes and cut):
            vectors = l2_normalize(vectors)
        return np.ascontiguousarray(vectors)

    def _prompt(self, options: EncodeOptions) -> str:
        name = options.prompt_name or self.model.default_prompt_name
        return (self.model.prompts.get(name) or "") if name else ""

    @contextlib.contextmanager
    def _truncation_side(self, side: Optional[str]) -> Iterator[None]:
        """Cut inputs at `side` for one call (the worker thread is the model's only user)."""
        tokenizer = self.tokenizer
        if side is None or tokenizer is None or tokenizer.truncation_side == side:
            yield
            return
        previous = tokenizer.truncation_side
        tokenizer.truncation_side = side
        try:
            yield
        finally:
            tokenizer.truncation_side = previous


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# ---------------------------------------------------------------- loading


# What a model repository holds that sentence-transformers reads (huggingface_hub patterns, where `*`
# crosses folders): configs, tokenizers, safetensors weights of every module. Not fetched: TensorFlow,
# Flax, Rust and pickle weights, and the ONNX/OpenVINO variants another backend would read.
REPOSITORY_FILES = ("*.json", "*.txt", "*.model", "*.safetensors")
BACKEND_FILES = {
    "onnx": ("onnx/model.onnx", "onnx/model.onnx_data"),
    "openvino": ("openvino/openvino_model.xml", "openvino/openvino_model.bin"),
}


def repository_files(settings: Settings) -> List[str]:
    """The files to fetch for a Hub id, for the configured backend."""
    return [*REPOSITORY_FILES, *BACKEND_FILES.get(backend_name(settings), ())]


def load_encoder(model_id: str) -> Encoder:
    """The encoder of the model folder `model_id`, on the backend the settings ask for, warmed up."""
    settings = get_settings()
    started = time.perf_counter()
    backend = backend_name(settings)
    model = load_model(Path(model_id), settings)
    encoder = Encoder(model, backend=backend, batch_size=max(ENCODE_BATCH_SIZE, settings.max_batch_size))
    encoder.encode([WARM_UP_TEXT], EncodeOptions())  # the first request should not pay for setup
    logger.info(
        "sentence-transformers model ready in %.2f s (backend %s, device %s, dimension %d, max length %s)",
        time.perf_counter() - started,
        backend,
        model.device,
        encoder.dimension,
        encoder.max_seq_length,
    )
    return encoder


def backend_name(settings: Settings) -> str:
    backend = settings.backend.strip().lower()
    if backend not in BACKENDS:
        raise ValueError(
            f"BACKEND `{settings.backend}` is not supported by the sentence_transformers image; "
            f"use one of: {', '.join(BACKENDS)}"
        )
    return backend


def pick_device(settings: Settings) -> str:
    """CUDA when COMPUTE_TYPE asks for a GPU and one is there, the CPU otherwise."""
    if settings.compute_type.strip().lower() in {"gpu", "cuda"} and torch.cuda.is_available():
        return "cuda"
    return "cpu"


def load_model(model_dir: Path, settings: Settings) -> SentenceTransformer:
    """The SentenceTransformer of a local model folder, on the configured backend."""
    backend = backend_name(settings)
    if not (model_dir / "modules.json").is_file() and not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} holds neither modules.json nor config.json: not a model folder")
    device = pick_device(settings)
    if backend == "torch":
        return SentenceTransformer(str(model_dir), device=device, local_files_only=True)
    fmt = FORMATS[backend]
    kwargs = backend_kwargs(backend, settings, device)
    source = find_export(model_dir, fmt, settings)
    if source is not None:
        logger.info("Loading the %s model from %s", backend, source)
        return SentenceTransformer(
            str(source),
            backend=backend,
            device=device,
            local_files_only=True,
            model_kwargs={**kwargs, "file_name": fmt.main_file},
        )
    model = export_model(model_dir, backend, device, kwargs)
    store_export(model, model_dir, fmt, settings)
    return model


def backend_kwargs(backend: str, settings: Settings, device: str) -> Dict[str, Any]:
    """How the backend runs: its threads (NUM_THREADS, else the usable CPUs) and device."""
    if backend == "onnx":
        options, providers = session_options(settings, cuda=device == "cuda")
        return {"provider": providers[0], "session_options": options}
    threads = settings.num_threads or available_cpus()
    # float32 as torch computes (OpenVINO would pick bfloat16 on CPUs that have it: no faster here, less exact)
    return {"ov_config": {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}}


def export_model(model_dir: Path, backend: str, device: str, kwargs: Dict[str, Any]) -> SentenceTransformer:
    """Export the model's transformer to `backend` from its local files (in a temporary folder) and load it."""
    started = time.perf_counter()
    logger.info("No %s file in %s: exporting the model (once; the export is stored)", backend, model_dir)
    with _quiet("sentence_transformers.backend"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporters' tracer and deprecation notices; ST's "please save it"
        model = SentenceTransformer(
            str(model_dir),
            backend=backend,
            device=device,
            local_files_only=True,
            model_kwargs={**kwargs, "export": True},
        )
    logger.info("Exported the model to %s in %.2f s", backend, time.perf_counter() - started)
    return model


def find_export(model_dir: Path, fmt: ExportFormat, settings: Settings) -> Optional[Path]:
    """The folder to load `fmt` from: the model folder when it has the file, else a stored export."""
    if (model_dir / fmt.main_file).is_file() or (model_dir / fmt.subfolder / fmt.main_file).is_file():
        return model_dir
    try:
        return exports.find_export(export_folder(model_dir, fmt, settings))
    except OSError:
        return None


def store_export(model: SentenceTransformer, model_dir: Path, fmt: ExportFormat, settings: Settings) -> Optional[Path]:
    """Keep the exported files for the next start; returns where (None if the exports folder is not writable)."""
    try:
        folder = exports.publish_export(
            export_folder(model_dir, fmt, settings), lambda staging: _write_overlay(model, model_dir, fmt, staging)
        )
    except OSError as error:
        logger.warning("Cannot store the %s export (%s): the next start exports again", fmt.backend, error)
        return None
    logger.info("Stored the %s export in %s", fmt.backend, folder)
    return folder


def export_folder(model_dir: Path, fmt: ExportFormat, settings: Settings) -> Path:
    """Where the export of this model folder lives: named by its files and the exporters' versions."""
    return exports.export_folder(
        LIBRARY, fmt.backend, model_dir, hf_home=settings.hf_home, distributions=fmt.distributions
    )


def _save_exported_files(model: SentenceTransformer, target: Path, fmt: ExportFormat) -> List[Path]:
    """Save the backend files into `target/<subfolder>/`; the main file comes last in the list."""
    model[0].auto_model.save_pretrained(str(target))  # sentence-transformers saves into `<subfolder>/`
    files = sorted(p for p in (target / fmt.subfolder).iterdir() if p.is_file())
    return sorted(files, key=lambda p: p.name == fmt.main_file)


def _write_overlay(model: SentenceTransformer, model_dir: Path, fmt: ExportFormat, folder: Path) -> None:
    """A model folder of links to the model's files, plus the exported files in `<subfolder>/`."""
    _save_exported_files(model, folder, fmt)
    for entry in model_dir.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.name == fmt.subfolder and entry.is_dir():  # the model's other files of this format
            for inner in entry.iterdir():
                if not (folder / fmt.subfolder / inner.name).exists():
                    (folder / fmt.subfolder / inner.name).symlink_to(os.path.abspath(inner))
            continue
        target = folder / entry.name
        if target.exists() or target.is_symlink():
            target.unlink()  # e.g. the config.json the export wrote: the model's own is the reference
        target.symlink_to(os.path.abspath(entry))


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    target = logging.getLogger(logger_name)
    previous = target.level
    target.setLevel(logging.ERROR)
    try:
        yield
    finally:
        target.setLevel(previous)
