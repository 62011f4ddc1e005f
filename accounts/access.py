"""Who may use which tool: anonymous visitors are sent to the tools' own sign-in page,
signed-in people without the right get a plain 403 page (never the admin's login)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def is_staff(user: Any) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def forbidden(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "accounts/forbidden.html", {"what": what}, status=403)


def staff_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Staff only (the usage dashboard, batch jobs): sign in first, or 403 for non-staff."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff(request.user):
            return forbidden(request, "This page is for staff.")
        return view(request, *args, **kwargs)

    return wrapped
