"""Test helpers shared by the core's and every image's tests (the `testing` extra: pytest, requests).

Never imported by the serving runtime.
"""
