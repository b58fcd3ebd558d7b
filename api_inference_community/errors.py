"""The errors every layer raises for a client to see, each with its HTTP status.

The HTTP layer renders them as JSON (`http.responses.error_response`); their messages are safe
to show to clients.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Union

Message = Union[str, List[str]]


class APIError(Exception):
    """An error with an HTTP status and a message safe to show to clients."""

    status_code = 500

    def __init__(self, message: Message, *, headers: Optional[Dict[str, str]] = None) -> None:
        super().__init__(message if isinstance(message, str) else "; ".join(message))
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return {"error": self.message}


class InvalidInput(APIError, ValueError):
    """The request's inputs or parameters are not acceptable (400)."""

    status_code = 400


class UnknownTask(InvalidInput):
    """TASK names a task this image does not serve (400, as upstream)."""


class NotFound(APIError):
    """No such model (404)."""

    status_code = 404


class NotServed(APIError):
    """The model exists but this server does not serve it for that task (400, naming the reason)."""

    status_code = 400


class ModelTurnedOff(NotServed):
    """The model's card sets `inference: false` (403, as the Hub answers)."""

    status_code = 403


class ModelTooBig(NotServed):
    """The model needs more memory than the server's whole model budget (403, never loaded)."""

    status_code = 403


class PayloadTooLarge(APIError):
    status_code = 413


class MethodNotAllowed(APIError):
    """The path exists, not for this method (405, with the methods it takes)."""

    status_code = 405

    def __init__(self, message: str, allow: str = "GET") -> None:
        super().__init__(message, headers={"Allow": allow})


class NotAcceptable(APIError, ValueError):
    status_code = 406


class ModelLoading(APIError):
    """The model is still loading (503 with an estimate, as the Hub API does)."""

    status_code = 503

    def __init__(self, model_id: str, estimated_time: float) -> None:
        retry = str(max(1, math.ceil(estimated_time)))
        super().__init__(f"Model {model_id} is currently loading", headers={"Retry-After": retry})
        self.estimated_time = round(max(estimated_time, 0.0), 1)

    def body(self) -> dict:
        return {"error": self.message, "estimated_time": self.estimated_time}


class Overloaded(APIError):
    """The request queue is full (503 with Retry-After)."""

    status_code = 503

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, math.ceil(retry_after)))})


class ModelLoadFailed(APIError):
    status_code = 500


class InferenceTimeout(APIError):
    status_code = 504


class InferenceFailed(APIError):
    status_code = 500


class ShuttingDown(APIError):
    status_code = 503


class WorkerStopped(APIError):
    """The model's inference worker stopped; the process is restarting (503)."""

    status_code = 503

    def __init__(self, message: str = "The inference worker stopped; the server is restarting") -> None:
        super().__init__(message, headers={"Retry-After": "5"})
