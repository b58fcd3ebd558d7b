"""image-classification with timm: a model folder in the Hub's timm format, served offline.

Loading, preprocessing, the forward pass (one of three backends) and postprocessing are kept
apart: `load_model`, `resolve_labels` and the model's own data config give the parts, a
`Runner` turns a batch of pixel tensors into logits, `postprocess` turns logits into answers.
"""

from __future__ import annotations

import io
import logging
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import timm
import torch
from PIL import Image
from timm.data import (
    CustomDatasetInfo,
    DatasetInfo,
    DatasetInfoLabelMapper,
    ImageNetInfo,
    create_transform,
    infer_imagenet_subset,
    resolve_model_data_config,
)

from api_inference_community import Pipeline
from api_inference_community.errors import InvalidInput
from api_inference_community.media import to_rgb
from api_inference_community.runtime import exports
from api_inference_community.runtime.onnx_sessions import session_options
from api_inference_community.runtime.settings import Settings, get_settings

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "torch-channels-last", "onnx")
FUNCTIONS = ("softmax", "sigmoid", "none")
DEFAULT_TOP_K = 5
ONNX_OPSET = 17
LIBRARY = "timm"  # ONNX exports live in $HF_HOME/exports/timm/onnx/ (api_inference_community.runtime.exports)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".tar")  # what timm's local-dir loader may read

Runner = Callable[[torch.Tensor], torch.Tensor]  # pixels (N, C, H, W) -> logits (N, classes)


REPOSITORY_FILES = ("config.json", "model.safetensors")


class ImageClassificationPipeline(Pipeline):
    """A timm classifier: the model folder's config gives architecture, labels and preprocessing."""

    @classmethod
    def model_files(cls, settings: Settings) -> List[str]:
        """A timm repository's config and safetensors weights (no pickle, ONNX or other formats)."""
        return list(REPOSITORY_FILES)

    def __init__(self, model_id: str) -> None:
        settings = get_settings()
        backend = settings.backend.strip().lower()
        if backend not in BACKENDS:
            raise ValueError(
                f"BACKEND `{settings.backend}` is not supported by the timm image; use one of: " + ", ".join(BACKENDS)
            )
        model_dir = Path(model_id)
        model = load_model(model_dir)
        self.backend = backend
        self.num_classes: int = model.num_classes
        if not self.num_classes:
            raise ValueError(f"{model.pretrained_cfg.get('architecture')} has no classifier head (num_classes=0)")
        self.labels = resolve_labels(model.pretrained_cfg, self.num_classes)
        self.data_config = resolve_model_data_config(model, use_test_size=True)
        self.transform = create_transform(**self.data_config)
        _, height, width = self.data_config["input_size"]
        crop = self.data_config.get("crop_pct") or 1.0  # the transform resizes to input / crop_pct first
        self.image_size = (int(width / crop) + 1, int(height / crop) + 1)  # JPEGs decode no smaller
        self.image_mode = "L" if self.data_config["input_size"][0] == 1 else "RGB"
        self.device = pick_device(settings)
        if backend == "onnx":
            self.runner: Runner = onnx_runner(model, model_dir, self.data_config["input_size"], settings)
        else:
            self.runner = torch_runner(model, self.device, channels_last=backend == "torch-channels-last")
        with torch.inference_mode():  # warm up: the first request should not pay for setup
            self.runner(torch.zeros((1, *self.data_config["input_size"])))

    # ------------------------------------------------------------------ requests

    def __call__(self, inputs: Image.Image, **parameters: Any) -> List[Dict[str, Any]]:
        return self.batch([inputs], **parameters)[0]

    def batch(self, inputs: List[Image.Image], **parameters: Any) -> List[List[Dict[str, Any]]]:
        top_k, function = self._check_parameters(**parameters)
        pixels = torch.stack([self.preprocess(image) for image in inputs])
        with torch.inference_mode():
            logits = self.runner(pixels)
        return postprocess(logits, self.labels, top_k, function)

    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """One image as the model's input tensor (C, H, W), by the model's own data config."""
        if not isinstance(image, Image.Image):
            raise InvalidInput("`inputs` must be an image")
        image = to_rgb(image)
        if self.image_mode != "RGB":
            image = image.convert(self.image_mode)
        return self.transform(image)

    def _check_parameters(
        self, top_k: Optional[int] = None, function_to_apply: Optional[str] = None, **unknown: Any
    ) -> Tuple[int, str]:
        if unknown:
            raise InvalidInput(f"Unknown parameters for image-classification: {', '.join(sorted(unknown))}")
        if top_k is None:
            top_k = DEFAULT_TOP_K
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InvalidInput(f"`top_k` must be an integer of at least 1 (received {top_k!r})")
        if function_to_apply is None:  # as transformers: one output is a probability, several a distribution
            function_to_apply = "sigmoid" if self.num_classes == 1 else "softmax"
        if function_to_apply not in FUNCTIONS:
            choices = ", ".join(FUNCTIONS)
            raise InvalidInput(f"`function_to_apply` must be one of {choices} (received {function_to_apply!r})")
        return min(top_k, self.num_classes), function_to_apply


# ---------------------------------------------------------------- loading


def load_model(model_dir: Path) -> torch.nn.Module:
    """The timm model of a Hub-format folder (config.json + weights), offline, in eval mode."""
    if not (model_dir / "config.json").is_file():
        raise FileNotFoundError(f"{model_dir} has no config.json: not a timm model folder")
    if not weight_files(model_dir):
        raise FileNotFoundError(f"{model_dir} holds no weights (model.safetensors or pytorch_model.bin)")
    # `local-dir:` reads config.json (architecture, num_classes, model_args, pretrained_cfg with the labels)
    # and the weights from the folder itself: timm's own Hub-format loader, without the Hub.
    model = timm.create_model(f"local-dir:{model_dir}", pretrained=True)
    return model.eval()


def weight_files(model_dir: Path) -> List[Path]:
    return sorted(p for p in model_dir.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))


def resolve_labels(pretrained_cfg: Dict[str, Any], num_classes: int) -> List[str]:
    """One label per class: the config's label names (or their descriptions), else ImageNet's, else LABEL_i."""
    info: Optional[DatasetInfo] = None
    names = pretrained_cfg.get("label_names")
    if names:
        descriptions = pretrained_cfg.get("label_descriptions")
        try:
            info = CustomDatasetInfo(label_names=names, label_descriptions=descriptions)
        except (TypeError, ValueError) as error:
            logger.warning("Ignoring the label descriptions of the model config: %s", error)
            try:
                info = CustomDatasetInfo(label_names=names)
            except (TypeError, ValueError) as error:
                logger.warning("Ignoring the label names of the model config: %s", error)
    if info is None:
        subset = infer_imagenet_subset({"num_classes": num_classes})
        if subset:
            info = ImageNetInfo(subset)
    if info is None:
        return [f"LABEL_{index}" for index in range(num_classes)]
    mapper = DatasetInfoLabelMapper(info, label_type="description", fallback_format="LABEL_{index}")
    return [mapper(index) for index in range(num_classes)]


def pick_device(settings: Settings) -> torch.device:
    """CUDA when COMPUTE_TYPE asks for a GPU and one is there, the CPU otherwise."""
    if settings.compute_type.strip().lower() in {"gpu", "cuda"} and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


# ---------------------------------------------------------------- backends


def torch_runner(model: torch.nn.Module, device: torch.device, channels_last: bool = False) -> Runner:
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=memory_format)

    def run(pixels: torch.Tensor) -> torch.Tensor:
        pixels = pixels.to(device=device, memory_format=memory_format, non_blocking=True)
        return model(pixels).float().cpu()

    return run


def onnx_runner(model: torch.nn.Module, model_dir: Path, input_size: Sequence[int], settings: Settings) -> Runner:
    """Export the model once (stored, reused on the next start) and run it with ONNX Runtime."""
    import onnxruntime

    options, providers = session_options(settings, cuda=pick_device(settings).type == "cuda")
    onnx_model, fresh = cached_onnx_export(model, model_dir, input_size, settings)
    try:
        session = onnxruntime.InferenceSession(onnx_model, sess_options=options, providers=providers)
    except Exception as error:
        if fresh:
            raise
        logger.warning("The stored ONNX export %s cannot be loaded (%s); exporting again", onnx_model, error)
        exports.discard_export(Path(str(onnx_model)).parent)
        onnx_model, _ = cached_onnx_export(model, model_dir, input_size, settings)
        session = onnxruntime.InferenceSession(onnx_model, sess_options=options, providers=providers)
    input_name, output_name = session.get_inputs()[0].name, session.get_outputs()[0].name

    def run(pixels: torch.Tensor) -> torch.Tensor:
        array = pixels.detach().cpu().numpy()
        return torch.from_numpy(session.run([output_name], {input_name: array})[0])

    return run


def cached_onnx_export(
    model: torch.nn.Module, model_dir: Path, input_size: Sequence[int], settings: Settings
) -> Tuple[Union[str, bytes], bool]:
    """The ONNX model for these weights: a stored export's path (False), or exported, checked and stored
    (True); the exported bytes themselves when the exports folder cannot be written."""
    try:
        folder: Optional[Path] = onnx_export_folder(model_dir, input_size, settings)
    except OSError as error:
        logger.warning("No place to store the ONNX export (%s)", error)
        folder = None
    if folder is not None and exports.find_export(folder) is not None:
        logger.info("Using the ONNX export in %s", folder / "model.onnx")
        return str(folder / "model.onnx"), False
    if folder is not None:
        try:
            exports.publish_export(folder, lambda staging: export_onnx(model, staging / "model.onnx", input_size))
            logger.info("Stored the ONNX export in %s", folder)
            return str(folder / "model.onnx"), True
        except OSError as error:
            logger.warning("Cannot store the ONNX export (%s): the next start exports again", error)
    buffer = io.BytesIO()
    export_onnx(model, buffer, input_size)
    return buffer.getvalue(), True


def onnx_export_folder(model_dir: Path, input_size: Sequence[int], settings: Settings) -> Path:
    """Where the ONNX export of this model folder lives: named by its files, the input size, the opset
    and the torch/timm versions."""
    return exports.export_folder(
        LIBRARY,
        "onnx",
        model_dir,
        hf_home=settings.hf_home,
        distributions=("torch", "timm"),
        extra={"input_size": list(input_size), "opset": ONNX_OPSET},
    )


def export_onnx(model: torch.nn.Module, target: Union[Path, io.BytesIO], input_size: Sequence[int]) -> None:
    """Trace the model to ONNX (into a file or a buffer) with a dynamic batch axis, then check that ONNX
    Runtime agrees with torch."""
    import onnxruntime

    started = time.perf_counter()
    model = model.to("cpu").eval()
    example = torch.rand((2, *input_size)) * 4 - 2  # about the range of normalized pixels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notices
        torch.onnx.export(
            model,
            (example,),
            str(target) if isinstance(target, Path) else target,
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, fast for CNNs and ViTs
            input_names=["pixel_values"],
            output_names=["logits"],
            dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=ONNX_OPSET,
        )
    source = str(target) if isinstance(target, Path) else target.getvalue()
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    probe = example[:1]
    with torch.inference_mode():
        expected = model(probe).float()
    actual = torch.from_numpy(session.run(None, {session.get_inputs()[0].name: probe.numpy()})[0])
    difference = (expected - actual).abs().max().item()
    if not difference <= 1e-3 * (1 + expected.abs().max().item()):
        raise RuntimeError(f"The ONNX export disagrees with torch (max difference {difference:g}); use BACKEND=torch")
    logger.info("Exported the model to ONNX in %.2f s", time.perf_counter() - started)


# ---------------------------------------------------------------- outputs


def postprocess(logits: torch.Tensor, labels: Sequence[str], top_k: int, function: str) -> List[List[Dict[str, Any]]]:
    """The `top_k` best classes of each row of logits, best first, as {label, score}."""
    logits = logits.float()
    if function == "softmax":
        scores = logits.softmax(dim=-1)
    elif function == "sigmoid":
        scores = logits.sigmoid()
    else:
        scores = logits
    values, indices = torch.topk(scores, k=min(top_k, scores.shape[-1]), dim=-1, sorted=True)
    return [
        [{"label": labels[index], "score": value} for value, index in zip(row_values, row_indices)]
        for row_values, row_indices in zip(values.tolist(), indices.tolist())
    ]
