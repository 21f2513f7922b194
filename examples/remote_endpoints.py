"""The same extraction against OpenAI, Ollama or any OpenAI-compatible server (vLLM, llama.cpp).

python examples/remote_endpoints.py openai   # needs OPENAI_API_KEY
python examples/remote_endpoints.py ollama   # needs `ollama serve` with the model pulled (OLLAMA_MODEL)
python examples/remote_endpoints.py vllm     # needs IMR_LLM_BASE_URL and IMR_LLM_MODEL for your server

Each backend is just a model name and a base URL; the instructor mode suits the server
(`json` for Ollama, whose OpenAI endpoint does not force tool calls). Without what a backend
needs, the example says so and exits 0, so it is safe to run anywhere.
"""

import os
import sys
from pathlib import Path

import httpx

from imr_llm import ImrLlmError, extract_result

LETTER = Path(__file__).resolve().parents[1] / "evals" / "samples" / "001_63c5b1a966744848.txt"


def backend(name: str) -> dict | str:
    """Keyword arguments for `extract_result`, or why this backend cannot be reached here."""
    if name == "openai":
        if not os.environ.get("OPENAI_API_KEY"):
            return "OPENAI_API_KEY is not set"
        return {"model": os.environ.get("OPENAI_MODEL", "gpt-4.1-mini")}
    if name == "ollama":
        url = os.environ.get("OLLAMA_BASE_URL", "http://localhost:11434/v1")
        try:
            httpx.get(url.removesuffix("/v1") + "/api/tags", timeout=2).raise_for_status()
        except httpx.HTTPError:
            return f"no Ollama server at {url}"
        return {"model": os.environ.get("OLLAMA_MODEL", "qwen2.5:7b-instruct"), "base_url": url, "mode": "json"}
    if name == "vllm":
        if not (os.environ.get("IMR_LLM_BASE_URL") and os.environ.get("IMR_LLM_MODEL")):
            return "IMR_LLM_BASE_URL and IMR_LLM_MODEL are not set"
        return {}  # both come from the environment; vLLM supports forced tool calls (mode "tools")
    raise SystemExit(f"unknown backend {name!r}: choose openai, ollama or vllm")


name = sys.argv[1] if len(sys.argv) > 1 else "openai"
settings = backend(name)
if isinstance(settings, str):
    print(f"skipped {name}: {settings}")
    sys.exit(0)
try:
    result = extract_result(LETTER.read_text(encoding="utf-8"), strategy="whole", **settings)
except ImrLlmError as exc:
    print(f"{name} failed: {exc}")
    sys.exit(1)
print(result.summary())
for item in result.determination.items:
    print(f"- {item.request}: {item.decision.value}")
