"""newsqa: cited question answering over news articles, local by default.

Importing the package makes the process offline before any heavy library loads:
no hub downloads, no telemetry, no analytics threads that keep Gradio alive.
"""

import importlib.util
import os

__version__ = "0.1.0"

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
}


def _go_offline() -> None:
    for name, value in _OFFLINE_ENV.items():
        os.environ[name] = value
    # llama-index counts tokens with tiktoken; its encodings ship inside llama-index,
    # and any other cache dir would make tiktoken try to download them.
    spec = importlib.util.find_spec("llama_index.core")
    if spec and spec.submodule_search_locations:
        cache = os.path.join(spec.submodule_search_locations[0], "_static", "tiktoken_cache")
        os.environ["TIKTOKEN_CACHE_DIR"] = cache


_go_offline()
