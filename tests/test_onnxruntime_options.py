"""The ONNX Runtime settings every image's ONNX backend uses."""

import pytest

from api_inference_community.runtime.onnx_sessions import session_options
from api_inference_community.runtime.settings import Settings
from api_inference_community.runtime.threads import available_cpus

pytest.importorskip("onnxruntime")


def test_threads_optimizations_and_no_spinning():
    import onnxruntime

    options, providers = session_options(Settings(num_threads=3))
    assert options.intra_op_num_threads == 3
    assert options.graph_optimization_level == onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert providers == ["CPUExecutionProvider"]


def test_threads_default_to_the_usable_cpus_and_cuda_only_when_available():
    import onnxruntime

    options, providers = session_options(Settings(), cuda=True)
    assert options.intra_op_num_threads == available_cpus()
    cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    assert providers[0] == ("CUDAExecutionProvider" if cuda else "CPUExecutionProvider")
    assert providers[-1] == "CPUExecutionProvider"
