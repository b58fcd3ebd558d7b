"""ONNX Runtime session settings shared by every image that offers `BACKEND=onnx`."""

from __future__ import annotations

from typing import Any, List, Tuple

from .settings import Settings
from .threads import available_cpus


def session_options(settings: Settings, cuda: bool = False) -> Tuple[Any, List[str]]:
    """SessionOptions and execution providers (best first) for a model served by this server.

    Intra-op threads come from NUM_THREADS, else the CPUs the process may use; all graph
    optimizations are on; threads do not busy-wait between operators (spinning threads take the
    CPU the event loop needs to answer health checks and queue requests); CUDA comes first when
    asked for and available.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = settings.num_threads or available_cpus()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"]
    if cuda and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return options, providers
