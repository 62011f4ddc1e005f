"""ASGI entry point: serve with uvicorn (``--lifespan off``), development included.

/v1 goes straight to the API (routing/asgi.py); everything else through Django.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from routing.asgi import SwitchyardASGI  # noqa: E402  (needs Django set up)

application = SwitchyardASGI(django_application)
