"""The gateway: one endpoint for every model of every library.

It reads each model's card, decides which library serves it and for which task (the core's own
decision, `hub.availability`), and forwards the request to a pool of that library's containers in
multi-model mode, which it starts, watches and stops. It never runs models: it decides, routes,
proxies and counts.
"""
