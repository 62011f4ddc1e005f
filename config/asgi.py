"""ASGI entry point: serve with uvicorn (``--lifespan off``), development included.

/v1 goes straight to the API (routing/doors/entry.py); everything else through Django.
"""

import gc
import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from routing.doors.entry import SwitchyardASGI  # noqa: E402  (needs Django set up)

application = SwitchyardASGI(django_application)

# Every request logs a line: skip what our formatters never print (the caller's file and
# line, thread and process names), as the logging HOWTO's "Optimization" section says.
logging._srcfile = None  # type: ignore[attr-defined]
logging.logThreads = False
logging.logProcesses = False
logging.logMultiprocessing = False

# Everything loaded so far lives as long as the process: move it out of the collector's
# sight, so a full collection under load scans only what requests create (a full
# collection over the whole heap took ~40 ms, the p99 spikes at high concurrency).
gc.collect()
gc.freeze()
