import pytest

from imr_llm.prompts import Prompt, PromptError, as_prompt, available


def test_default_prompt_ships_with_the_package():
    assert "default" in available()
    prompt = Prompt.load()
    assert prompt.name == "default"
    assert "$letter" in prompt.user


def test_letter_text_reaches_the_model_unchanged():
    """Jinja would eat `{{ }}` and `{% %}`; string.Template leaves inserted text alone."""
    letter = "Dose {{ 2 * 5 }} mg, {% if x %}, $letter, ${HOME}, 100% and $5"
    user = Prompt.load().messages(letter)[1]["content"]
    assert letter in user


def test_rendering_is_deterministic():
    prompt = Prompt.load()
    assert prompt.messages("abc") == prompt.messages("abc")
    assert prompt.digest == Prompt.load().digest


def test_prompt_from_a_folder(tmp_path):
    (tmp_path / "system.txt").write_text("Be terse.")
    (tmp_path / "user.txt").write_text("Letter costs $$5: $letter")
    prompt = as_prompt(tmp_path)
    assert prompt.messages("L") == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Letter costs $5: L"},
    ]
    assert prompt.digest != Prompt.load().digest


def test_inline_prompt_and_its_errors():
    assert Prompt.from_strings("s", "u $letter").messages("x")[1]["content"] == "u x"
    with pytest.raises(PromptError, match="must contain \\$letter"):
        Prompt.from_strings("s", "no placeholder")
    with pytest.raises(PromptError, match="only \\$letter is defined"):
        Prompt.from_strings("s", "$letter and $other")


def test_unknown_prompt_lists_the_known_ones():
    with pytest.raises(PromptError, match="packaged prompts: default"):
        Prompt.load("no-such-prompt")
