"""HTTP API (FastAPI) and CLI: the composition root that wires services to the outside world."""
