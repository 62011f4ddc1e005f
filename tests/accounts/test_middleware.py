"""ResolvedUserMiddleware: async views can render templates that read `request.user`."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, RequestFactory

from accounts.middleware import ResolvedUserMiddleware


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_user_gets_the_async_playground(settings: object) -> None:
    """The async playground view renders the header's user: no SynchronousOnlyOperation."""
    settings.PLAYGROUND_REQUIRE_LOGIN = True  # type: ignore[attr-defined]
    user = await sync_to_async(User.objects.create_user)("ann", password="pw")
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get("/playground/")
    assert response.status_code == 200
    assert "Signed in as <strong>ann</strong>" in response.content.decode()


async def test_async_mode_puts_the_resolved_user_on_the_request() -> None:
    """In async mode the lazy user is replaced by the awaited one before the view runs."""
    seen: list[object] = []

    async def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.user)
        return HttpResponse("ok")

    request = RequestFactory().get("/")
    resolved = AnonymousUser()

    async def auser() -> AnonymousUser:
        return resolved

    request.auser = auser  # type: ignore[attr-defined]
    middleware = ResolvedUserMiddleware(view)
    response = await middleware(request)  # type: ignore[misc]
    assert response.status_code == 200 and seen == [resolved]


def test_sync_mode_passes_through() -> None:
    """In sync mode the request goes on untouched (sync views may read the lazy user)."""
    middleware = ResolvedUserMiddleware(lambda request: HttpResponse("sync"))
    assert middleware(RequestFactory().get("/")).content == b"sync"  # type: ignore[union-attr]
