"""The HTTP layer: the app factory, the routes, reading requests, content negotiation, encoding answers."""
