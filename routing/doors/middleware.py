"""Request ids: every response carries `x-request-id`, and logs and usage records share it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from routing.engine.context import new_request_id

SAFE_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def request_id_for(request: HttpRequest) -> str:
    incoming = request.headers.get("x-request-id", "")
    return incoming if SAFE_ID.match(incoming) else new_request_id()


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(self.get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        request.request_id = request_id_for(request)  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["x-request-id"] = request.request_id  # type: ignore[attr-defined,index]
        return response  # type: ignore[return-value]

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        request.request_id = request_id_for(request)  # type: ignore[attr-defined]
        response = await self.get_response(request)  # type: ignore[misc]
        response["x-request-id"] = request.request_id  # type: ignore[attr-defined]
        return response
