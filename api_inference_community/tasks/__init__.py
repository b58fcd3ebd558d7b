"""The tasks: their registry, the Hub's input and parameter schemas, and request validation."""
