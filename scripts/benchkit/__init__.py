"""Pieces of the benchmarks of live servers (`scripts/benchmark.py`, `benchmark_cache.py`, `benchmark_gateway.py`).

    loadgen.py          the closed-loop HTTP load generator (N keep-alive clients, raw sockets)
    probe.py            the /health probe, in its own process
    windows.py          a closed-loop run cut into measured windows (load + probe + server counters)
    oneshot.py          one request on its own connection, whole, trickled, short or abandoned
    hostile_bodies.py   hostile requests, one generator per kind
    hostile.py          hostile traffic beside the load, image bursts, peak RSS
    ceiling.py          the raw in-process ceiling (the image's Pipeline, in a subprocess)
    machine.py          CPU seconds, RSS and its peak, waiting for a quiet machine
    server.py           the server under test: image folder, model, environment, limits, start
    options.py          the command-line options benchmarks share
    stats.py            percentiles and ratios
    report.py           tables (text, markdown) and judged targets
    serving_report.py   scripts/benchmark.py's ratios, targets and report
    sequential.py       one keep-alive client sending requests in order, each timed
    alternate.py        servers measured in alternating rounds under the same load
    payloads.py         legitimate request bodies (a photo-like JPEG)
    models_dir.py       a models directory's models, their cards, a body for each
    timm_models.py      generated timm classifiers of several sizes, in a models directory
    trace.py            request traces: Zipf popularity and a scan of one-off models
    cache_sim.py        eviction policies replayed on a trace (ours, LRU, LRU-2, Belady's MIN)
    multimodel.py       multi-model servers: sizes, cache counters, a trace replayed request by request
    cache_report.py     scripts/benchmark_cache.py's targets and report
    gateway.py          the gateway under test: started, its pools and replicas, stopped with them
    profiling.py        py-spy on a live server, summarized per thread
    gateway_report.py   scripts/benchmark_gateway.py's targets and report
    text_classifier.py  the transformers image's benchmark models: MiniLM as a text classifier, tiny models
    backends.py         an image's backends (torch, onnx, int8) measured in alternating rounds in one run

Nothing here imports the core (`api_inference_community`) at import time: the functions that need
it import it when called.
"""
