"""Guards: API keys, rate limits and budgets, the response cache, and the shared state
(local memory or Redis) they keep across workers."""
