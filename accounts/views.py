"""Sign in and sign out for the browser tools: Django's own auth views, in the tools' layout.

Any active user may sign in here (the admin's login admits staff only); staff create the
accounts in the admin (Users -> Add user).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link cannot sign someone out behind their back."""
