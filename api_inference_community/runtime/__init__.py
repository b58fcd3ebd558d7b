"""The serving runtime: settings, the per-model engine (queue, batching, worker), loading, threads, metrics, logs."""
