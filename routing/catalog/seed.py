"""What a fresh install knows: built-in providers, familiar aliases, simulator models.

Prices are never typed here: they come from genai-prices when the catalog is synced.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BuiltinProvider:
    slug: str
    name: str
    protocol: str
    base_url: str
    prices_source: str = ""  # genai-prices provider id
    region: str = "us"
    requires_key: bool = True
    # Which genai-prices models this provider serves, and how its own ids look.
    model_prefix: str = ""  # keep only genai-prices ids starting with this (and strip it)
    id_template: str = "{id}"  # the provider's own model id built from the genai-prices id
    extra_models: tuple[str, ...] = field(
        default=()
    )  # provider ids priced by genai-prices matching
    serves_responses: bool = False  # OpenAI's Responses API (/v1/responses)
    serves_completions: bool = False  # the legacy /v1/completions


BUILTIN_PROVIDERS: tuple[BuiltinProvider, ...] = (
    BuiltinProvider(
        "openai",
        "OpenAI",
        "openai",
        "https://api.openai.com/v1",
        "openai",
        serves_responses=True,
        serves_completions=True,
    ),
    BuiltinProvider(
        "anthropic",
        "Anthropic",
        "anthropic",
        "https://api.anthropic.com",
        "anthropic",
        extra_models=(
            "claude-3-5-sonnet-20241022",
            "claude-3-5-haiku-20241022",
            "claude-3-7-sonnet-20250219",
            "claude-sonnet-4-20250514",
            "claude-opus-4-20250514",
        ),
    ),
    BuiltinProvider(
        "deepseek",
        "DeepSeek",
        "openai",
        "https://api.deepseek.com/v1",
        "deepseek",
        "cn",
        serves_completions=True,
    ),
    BuiltinProvider(
        "qwen",
        "Qwen (DashScope)",
        "openai",
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "openrouter",
        "sg",
        model_prefix="qwen/",
    ),
    BuiltinProvider(
        "together",
        "Together",
        "openai",
        "https://api.together.xyz/v1",
        "together",
        serves_completions=True,
    ),
    BuiltinProvider("groq", "Groq", "openai", "https://api.groq.com/openai/v1", "groq"),
    BuiltinProvider("mistral", "Mistral", "openai", "https://api.mistral.ai/v1", "mistral", "eu"),
    BuiltinProvider(
        "fireworks",
        "Fireworks",
        "openai",
        "https://api.fireworks.ai/inference/v1",
        "fireworks",
        id_template="accounts/fireworks/models/{id}",
        serves_completions=True,
    ),
    BuiltinProvider(
        "google",
        "Google Gemini",
        "openai",
        "https://generativelanguage.googleapis.com/v1beta/openai",
        "google",
        model_prefix="gemini-",
        id_template="gemini-{id}",
        # deprecated in genai-prices but still served (and still priced there)
        extra_models=("gemini-2.0-flash", "gemini-2.0-flash-lite"),
    ),
    BuiltinProvider(
        "openrouter", "OpenRouter", "openai", "https://openrouter.ai/api/v1", "openrouter"
    ),
    BuiltinProvider(
        "local",
        "Local server (Ollama, vLLM, llama.cpp)",
        "openai",
        "http://127.0.0.1:11434/v1",
        region="local",
        requires_key=False,
        serves_completions=True,
    ),
    BuiltinProvider(
        "sim", "Simulator (not a real model)", "openai", "", region="local", requires_key=False
    ),
)

# Simulated models: served by Switchyard itself, priced like the real model they stand in for
# so that costs shown with no keys are realistic. (model id, genai-prices reference, pace)
SIM_MODELS: tuple[tuple[str, str, float], ...] = (
    ("fast", "deepseek:deepseek-chat", 2.0),
    ("balanced", "openrouter:qwen/qwen3-32b", 1.3),
    ("smart", "openai:gpt-4o", 0.8),
)

# The simulator's embedding model: deterministic vectors, priced as OpenAI's small one.
SIM_EMBEDDING = ("embed", "openai:text-embedding-3-small", 256)

# Embedding models of built-in providers: (provider slug, model id, genai-prices reference,
# native vector length). The length is a fact of the model, not a price; prices come from
# genai-prices ("" when it has none: listed, flagged unpriced).
EMBEDDING_MODELS: tuple[tuple[str, str, str, int], ...] = (
    ("openai", "text-embedding-3-small", "openai:text-embedding-3-small", 1536),
    ("openai", "text-embedding-3-large", "openai:text-embedding-3-large", 3072),
    ("openai", "text-embedding-ada-002", "openai:text-embedding-ada-002", 1536),
    ("mistral", "mistral-embed", "mistral:mistral-embed", 1024),
    ("mistral", "codestral-embed-2505", "mistral:codestral-embed-2505", 1536),
    ("google", "gemini-embedding-001", "google:gemini-embedding-001", 3072),
    ("together", "BAAI/bge-large-en-v1.5", "", 1024),
    ("together", "BAAI/bge-base-en-v1.5", "", 768),
)

ALIASES: dict[str, str] = {
    "deepseek-ai/DeepSeek-V3": "deepseek/deepseek-chat",
    "deepseek-ai/DeepSeek-R1": "deepseek/deepseek-reasoner",
    "Qwen/Qwen3-32B": "qwen/qwen3-32b",
    "meta-llama/Llama-3.3-70B-Instruct": "groq/llama-3.3-70b-versatile",
    "anthropic/claude-3-5-sonnet": "anthropic/claude-3-5-sonnet-20241022",
    "anthropic/claude-3-5-haiku": "anthropic/claude-3-5-haiku-20241022",
    # Claude Code's dated model names (its bare ones resolve by the catalog's own ids)
    "claude-sonnet-4-5-20250929": "anthropic/claude-sonnet-4-5",
    "claude-opus-4-1-20250805": "anthropic/claude-opus-4-1",
    "claude-haiku-4-5-20251001": "anthropic/claude-haiku-4-5",
}

# Models that are not chat models (embeddings, speech, images...): not listed for /v1/chat.
NON_CHAT_MARKERS = (
    "embed",
    "tts",
    "whisper",
    "transcribe",
    "image",
    "ocr",
    "realtime",
    "audio",
    "moderation",
    "dall-e",
    "search",
    "guard",
    "orpheus",
    "voxtral",
    "computer-use",
    "live",
    "ft:",
    "nano-banana",
    "gpt-3.5-turbo-instruct",
)
LEGACY_PREFIXES = ("ada", "babbage", "curie", "davinci")
