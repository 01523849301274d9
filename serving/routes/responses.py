"""What the routers share about answers: the JSON response class, documented errors, model refs."""

from __future__ import annotations

import orjson
from fastapi.responses import JSONResponse

from riskscore.serving.model_holder import Loaded

# Documented error answers (besides 422), so that clients and schema checkers know them.
BODY_ERRORS = {400: {"description": "The body is not JSON"}, 413: {"description": "Body too large"}}
KEY_ERRORS = {
    401: {"description": "Missing or invalid key"},
    403: {"description": "Another member"},
}
MODEL_ERRORS = {
    503: {"description": "No model to serve; the detail names why (registry, cache or alias)"}
}


class JSONAnswer(JSONResponse):
    """JSON rendered by orjson (FastAPI's ORJSONResponse is deprecated and warns on each use).

    A JSONResponse, so that the OpenAPI schema shows each route's response model (FastAPI
    documents any other response class as a string)."""

    def render(self, content: object) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def model_ref(loaded: Loaded) -> dict[str, str | None]:
    """Which model answered: name, version and alias, and the feature state it scored with."""
    return loaded.ref
