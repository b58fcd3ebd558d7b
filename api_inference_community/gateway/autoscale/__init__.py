"""Autoscaling the library pools: one pure decision (`policy`), a controller that applies it (`controller`).

The decision takes a pool's observed concurrency (requests in flight plus requests held waiting for
a replica) and returns how many replicas it should have: fast up on a short window, slow down on a
long one, to zero after an idle period. The controller samples every pool once a second, applies
the decisions through `Pool.scale` and exports them as metrics (`metrics`).
"""
