"""The engine between the doors: plan (pure policies), dispatch (attempts, fallback,
deadlines, cooldown), ensembles, live latency, and the one code path every consumer takes
(`gateway`). Nothing here knows which protocol a request came through."""
