"""Dynamic int8 quantization (`QUANTIZE=dynamic-int8`): weights of linear layers stored in int8,
activations quantized on the fly. Smaller and usually faster on CPUs; results differ slightly
from float32 (the tests bound by how much)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)


def quantize_torch(model: object) -> object:
    """The PyTorch model with its `nn.Linear` layers dynamically quantized to int8 (in place)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)


def quantize_onnx_folder(folder: Path) -> None:
    """Quantize every ONNX graph of an export folder in place (weights to int8, MatMul and Gemm)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for path in sorted(folder.glob("*.onnx")):
        target = path.with_name(f".{path.name}.int8")
        quantize_dynamic(
            str(path),
            str(target),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul", "Gemm"],
            use_external_data_format=(path.with_name(path.name + "_data")).exists(),
        )
        os.replace(target, path)
        logger.info("Quantized %s to dynamic int8", path.name)
