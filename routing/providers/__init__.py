"""One adapter per wire protocol; a provider names its protocol, nothing switches on names."""

from routing.providers.anthropic import AnthropicAdapter
from routing.providers.base import Adapter, Chunk, Completion, UpstreamError
from routing.providers.openai_compat import OpenAIAdapter

ADAPTERS: dict[str, Adapter] = {a.protocol: a for a in (OpenAIAdapter(), AnthropicAdapter())}


def adapter_for(protocol: str) -> Adapter:
    return ADAPTERS[protocol]


__all__ = ["ADAPTERS", "Adapter", "Chunk", "Completion", "UpstreamError", "adapter_for"]
