import pytest

from imr_llm import client
from imr_llm.errors import ConfigError


def test_nothing_configured_means_the_embedded_model():
    endpoint = client.resolve()
    assert endpoint.server is client.embedded.default_server
    assert endpoint.identity.startswith("embedded:qwen2.5-coder-1.5b")


def test_a_key_alone_does_not_send_letters_to_openai(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert client.resolve().server is not None


def test_openai_by_model_name_and_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    endpoint = client.resolve(model="gpt-4.1-mini")
    assert endpoint.server is None and endpoint.base_url is None
    assert endpoint.identity == "https://api.openai.com/v1#gpt-4.1-mini"
    assert "sk-test" not in repr(endpoint)


def test_arguments_beat_environment(monkeypatch):
    monkeypatch.setenv("IMR_LLM_MODEL", "env-model")
    monkeypatch.setenv("IMR_LLM_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("IMR_LLM_MODE", "json")
    endpoint = client.resolve(model="arg-model")
    assert (endpoint.model, endpoint.base_url, endpoint.mode) == (
        "arg-model",
        "http://127.0.0.1:1/v1",
        "json",
    )
    assert endpoint.api_key == "not-needed"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "gpt-4.1-mini"}, "needs OPENAI_API_KEY"),
        ({"base_url": "http://localhost:11434/v1"}, "needs a model name"),
        ({"mode": "json_schema"}, "unknown mode"),
    ],
)
def test_configuration_errors_say_what_to_do(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        client.resolve(**kwargs)
