"""Where the per-request JSON log lines go (REQUEST_LOG), as pieces of Django's LOGGING."""

from __future__ import annotations


def request_log_config(target: str, formatter: str) -> tuple[dict[str, object], dict[str, object]]:
    """(extra handlers, the `switchyard.requests` logger) for REQUEST_LOG: empty or `stderr`
    (with the other lines), `off`, or a file path."""
    if target in ("", "stderr"):
        return {}, {}
    if target == "off":
        return {}, {"level": "WARNING"}
    handler = {
        "class": "routing.transport.logs.BackgroundFileHandler",
        "filename": target,
        "formatter": formatter,
    }
    return {"requests": handler}, {"handlers": ["requests"], "propagate": False}
