"""The HTTP edge: app factory, middlewares, handlers, OpenAPI."""
