"""The HTTP API (FastAPI): app, dependencies, middleware, routes and schemas."""
