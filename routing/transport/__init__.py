"""Transport: how bytes leave the process fast. The upstream HTTP client, the batching
gatherer, the usage-record writer and the log writer. Optimisations behind small contracts."""
