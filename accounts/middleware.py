"""Resolve `request.user` before an async view runs.

Django's `AuthenticationMiddleware` sets `request.user` to a lazy object that loads the
user from the database on first touch. In an async view that first touch happens inside
template rendering (the `auth` context processor), which raises
`SynchronousOnlyOperation` for every signed-in user. Awaiting `request.auser()` here puts
the real user on the request first; sync views are left as they are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest
from django.http.response import HttpResponseBase


class ResolvedUserMiddleware:
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
        return self.get_response(request)  # type: ignore[return-value]

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        request.user = await request.auser()
        return await self.get_response(request)  # type: ignore[misc]
