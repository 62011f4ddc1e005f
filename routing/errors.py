"""One error envelope for the API: OpenAI's ``{"error": {...}}`` with OpenAI's statuses."""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse


class GatewayError(Exception):
    """An error the client should see, already in OpenAI's terms."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.details = details

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.type,
            "code": self.code,
            "param": self.param,
        }
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}

    def response(self) -> HttpResponse:
        response = HttpResponse(
            orjson.dumps(self.payload()), status=self.status, content_type="application/json"
        )
        for name, value in self.headers.items():
            response[name] = value
        return response


def invalid(message: str, param: str | None = None, code: str | None = None) -> GatewayError:
    return GatewayError(400, message, "invalid_request_error", code, param)


def unauthorized(message: str) -> GatewayError:
    return GatewayError(401, message, "invalid_request_error", "invalid_api_key")


def model_not_found(name: str) -> GatewayError:
    return GatewayError(
        404,
        f"The model '{name}' does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
        "model",
    )
