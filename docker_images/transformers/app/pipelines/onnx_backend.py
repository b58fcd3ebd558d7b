"""`BACKEND=onnx`: the model exported to ONNX by optimum-onnx and run by ONNX Runtime.

The export is made once from the model's local files and kept under
`$HF_HOME/exports/transformers/onnx/<name>-<key>/` (the core's `runtime.exports`: never in the model's
folder, published atomically, a changed model or library gets a new one); the next start loads it
without exporting. With `QUANTIZE=dynamic-int8` the stored graphs are quantized once, after the
export. ONNX Runtime's threads and providers come from the core's shared session options.
"""

from __future__ import annotations

import logging
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

from api_inference_community.runtime.exports import discard_export, export_folder, find_export, publish_export
from api_inference_community.runtime.onnx_sessions import session_options
from api_inference_community.runtime.settings import Settings
from app.pipelines.quantization import quantize_onnx_folder

logger = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json", ".pt", ".pth", ".ckpt")
EXPORTER_DISTRIBUTIONS = ("torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime")

#: the tasks optimum-onnx runs through ONNX Runtime (a model class per task, see `model_class`)
ONNX_TASKS = frozenset(
    {
        "audio-classification",
        "automatic-speech-recognition",
        "feature-extraction",
        "fill-mask",
        "image-classification",
        "image-segmentation",
        "image-to-image",
        "image-to-text",
        "question-answering",
        "summarization",
        "text-classification",
        "text-generation",
        "text2text-generation",
        "token-classification",
        "translation",
        "zero-shot-classification",
        "zero-shot-image-classification",
    }
)


def model_class(task: str, model_dir: Path) -> Any:
    """The `ORTModelFor*` class that serves `task` for this model (CTC or sequence-to-sequence ASR...)."""
    from optimum.onnxruntime.pipelines import get_ort_model_class
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
    return get_ort_model_class(task, config=config)


def load_pipeline(
    task: str,
    model_dir: Path,
    settings: Settings,
    quantize: Optional[str],
    trust_remote_code: bool,
    cuda: bool = False,
) -> Any:
    """The pipeline of `task` on ONNX Runtime: the export found in the cache, or made and stored first."""
    import transformers

    if task not in ONNX_TASKS:
        supported = ", ".join(sorted(ONNX_TASKS))
        raise ValueError(f"BACKEND `onnx` does not serve `{task}` (use BACKEND=torch); it serves: {supported}")
    ort_class = model_class(task, model_dir)
    options, providers = session_options(settings, cuda=cuda)
    folder = export_folder(
        "transformers",
        "onnx",
        model_dir,
        hf_home=settings.hf_home,
        distributions=EXPORTER_DISTRIBUTIONS,
        extra={"class": ort_class.__name__, "quantize": quantize},
    )

    def export(staging: Path) -> None:
        export_model(ort_class, model_dir, staging, trust_remote_code)
        if quantize:
            quantize_onnx_folder(staging)

    def build(folder: Path) -> Any:
        model = ort_class.from_pretrained(
            str(folder), local_files_only=True, provider=providers[0], session_options=options
        )
        if not hasattr(model, "main_input_name"):  # ORTModelForCTC lacks it; the ASR pipeline reads it
            model.main_input_name = "input_values"
        device = "cuda" if cuda else "cpu"
        build_pipeline: Callable[..., Any] = transformers.pipeline
        return build_pipeline(task, model=model, device=device, **preprocessors(task, folder))

    found = find_export(folder)
    if found is not None:
        logger.info("Using the stored ONNX export %s", found)
    else:
        found = publish_export(folder, export)
        logger.info("Stored the ONNX export in %s", found)
    try:
        return build(found)
    except Exception as error:  # a stored export that no longer loads (a changed runtime...)
        logger.warning("The stored ONNX export %s does not load (%s); exporting again", found, error)
        discard_export(folder)
        return build(publish_export(folder, export))


def preprocessors(task: str, folder: Path) -> Dict[str, Any]:
    """The tokenizer, feature extractor, image processor or processor the pipeline of `task` takes,
    loaded from `folder` (transformers finds them by itself only when given a model path)."""
    from transformers import AutoFeatureExtractor, AutoImageProcessor, AutoProcessor, AutoTokenizer
    from transformers.pipelines import check_task

    pipeline_class = check_task(task)[1]["impl"]
    loaders: Dict[str, Tuple[Optional[bool], Any]] = {
        "tokenizer": (pipeline_class._load_tokenizer, AutoTokenizer),
        "feature_extractor": (pipeline_class._load_feature_extractor, AutoFeatureExtractor),
        "image_processor": (pipeline_class._load_image_processor, AutoImageProcessor),
        "processor": (pipeline_class._load_processor, AutoProcessor),
    }
    found: Dict[str, Any] = {}
    for name, (wanted, auto_class) in loaders.items():
        if wanted is False:
            continue
        try:
            found[name] = auto_class.from_pretrained(str(folder), local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError):
            if wanted:  # required by the pipeline (None: optional, as transformers treats it)
                raise
    return found


def export_model(ort_class: Any, model_dir: Path, folder: Path, trust_remote_code: bool) -> None:
    """Export `model_dir` to ONNX with optimum and save the graphs and config into `folder`."""
    started = time.perf_counter()
    logger.info("Exporting %s to ONNX (%s); the export is stored for the next start", model_dir, ort_class.__name__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's tracer and deprecation notices
        model = ort_class.from_pretrained(
            str(model_dir), export=True, local_files_only=True, trust_remote_code=trust_remote_code
        )
    model.save_pretrained(str(folder))
    for path in model_dir.iterdir():  # the tokenizer, processor and generation files beside the graphs
        if path.is_file() and not path.name.endswith(WEIGHT_SUFFIXES) and not (folder / path.name).exists():
            shutil.copyfile(path, folder / path.name)
    logger.info("Exported to ONNX in %.2f s", time.perf_counter() - started)
