"""One way to load a model for every task: `transformers.pipeline(task, model=<folder>)`, safely.

- The task is always given (a pipeline never guesses it from the Hub, which is not reachable).
- Weights: safetensors only, unless `ALLOW_PICKLE_WEIGHTS=1` (`policy`).
- `trust_remote_code` only for the model ids listed in `TRUST_REMOTE_CODE_MODELS`.
- `BACKEND`: `torch` (default) or `onnx` (`onnx_backend`, for the tasks optimum-onnx serves);
  `QUANTIZE=dynamic-int8` quantizes either. `COMPUTE_TYPE=gpu` runs on CUDA when there is one.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable

from api_inference_community.runtime.settings import Settings, get_settings
from app.pipelines import onnx_backend
from app.pipelines.policy import LoadPolicy
from app.pipelines.quantization import quantize_torch

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx")
SAFE_WEIGHTS = (".safetensors", ".safetensors.index.json")
PICKLE_WEIGHTS = (".bin", ".bin.index.json", ".pt", ".pth", ".ckpt")


def backend_name(settings: Settings) -> str:
    backend = settings.backend.strip().lower()
    if backend not in BACKENDS:
        raise ValueError(
            f"BACKEND `{settings.backend}` is not supported by the transformers image; "
            f"use one of: {', '.join(BACKENDS)}"
        )
    return backend


def uses_cuda(settings: Settings) -> bool:
    """Whether COMPUTE_TYPE asks for a GPU and one is there."""
    import torch

    return settings.compute_type.strip().lower() in {"gpu", "cuda"} and torch.cuda.is_available()


def check_model_folder(model_dir: Path, policy: LoadPolicy) -> None:
    """Refuse a folder that is no transformers model, or whose only weights are pickles (unless allowed)."""
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} has no config.json: not a transformers model folder")
    names = [path.name for path in model_dir.iterdir() if path.is_file()]
    if any(name.endswith(SAFE_WEIGHTS) for name in names) or policy.allow_pickle_weights:
        return
    pickles = sorted(name for name in names if name.endswith(PICKLE_WEIGHTS))
    if pickles:
        raise ValueError(
            f"{model_dir} holds only pickle weights ({', '.join(pickles)}), which can run code when loaded; "
            "set ALLOW_PICKLE_WEIGHTS=1 to load them from a model you trust"
        )
    raise FileNotFoundError(f"{model_dir} holds no weights (model.safetensors)")


def load_pipeline(task: str, model_id: str) -> Any:
    """The transformers pipeline of `task` for the model folder `model_id`, as the settings ask."""
    import transformers

    settings, policy = get_settings(), LoadPolicy.from_env()
    backend = backend_name(settings)
    model_dir = Path(model_id)
    check_model_folder(model_dir, policy)
    trust = policy.trusts_remote_code(settings.model_id)
    cuda = uses_cuda(settings)
    if cuda and policy.quantize and backend == "torch":
        raise ValueError("QUANTIZE=dynamic-int8 runs on the CPU only with BACKEND=torch; unset it for COMPUTE_TYPE=gpu")
    started = time.perf_counter()
    if backend == "onnx":
        pipe = onnx_backend.load_pipeline(task, model_dir, settings, policy.quantize, trust, cuda)
    else:
        model_kwargs = {} if policy.allow_pickle_weights else {"use_safetensors": True}
        build_pipeline: Callable[..., Any] = transformers.pipeline
        pipe = build_pipeline(
            task,
            model=str(model_dir),
            device="cuda" if cuda else "cpu",
            trust_remote_code=trust,
            model_kwargs=model_kwargs,
        )
        if policy.quantize:
            quantize_torch(pipe.model)
    logger.info(
        "%s pipeline loaded in %.2f s (backend %s%s, device %s, model %s)",
        task,
        time.perf_counter() - started,
        backend,
        f", {policy.quantize}" if policy.quantize else "",
        "cuda" if cuda else "cpu",
        type(pipe.model).__name__,
    )
    return pipe
