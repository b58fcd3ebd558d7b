"""The maintainers' tools: the command line, scaffolding of new library images, the template's docs.

Never imported by the serving runtime.
"""
