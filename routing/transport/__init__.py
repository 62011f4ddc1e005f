"""Transport: how bytes leave the process fast. The upstream HTTP client behind its contract
(`upstream.py`: post, stream, pools per event loop, timeouts, error kinds) with two
implementations (`fast.py`, the default; `httpx_client.py`), the SSE decoder they share,
the batching gatherer, the usage-record writer and the log writer. Optimisations behind
small contracts."""
