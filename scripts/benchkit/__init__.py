"""Pieces of the benchmarks of live servers (`scripts/benchmark.py` and the ones built beside it).

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

Nothing here imports the core (`api_inference_community`) at import time: the functions that need
it import it when called.
"""
