"""How many tokens the embedded model's `whole` pointing call takes, letter by letter: what sizes its context.

    python evals/prompt_tokens.py [FOLDER …]   # default: every letter folder under evals/

Each count is exact and needs no running model: the chat-completions body a live `whole`
extraction sends (`imr_llm.openai_batch.request_body`: the letter as shown, the system text,
instructions and the tool schema, built by instructor) rendered by the GGUF's own chat template
through llama-cpp-python's formatter, as `llama_cpp.server` renders it, and counted with the
model's tokenizer (the GGUF loaded vocabulary only). "shown" is the pointing call's prompt (the
letter from its items section on where the layout adds up); "full" the same call showing the
whole letter, the most any letter of that length can take. The context must hold the prompt,
the answer, and for a letter without a layout that adds up the follow-up question (the prompt,
the first answer and a line; see `strategies._complete`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from imr_llm.embedded import assemble
from imr_llm.openai_batch import _extractor, request_body
from imr_llm.options import Options
from imr_llm.reading import read
from imr_llm.sources import discover

ROOT = Path(__file__).resolve().parent
FOLDERS = [ROOT / "samples", ROOT / "corpus" / "text", ROOT / "unknown" / "text", ROOT / "arrived" / "text"]


class Counter:
    """The embedded model's tokenizer and chat template, without its weights."""

    def __init__(self) -> None:
        self.llm = Llama(str(assemble()), vocab_only=True, verbose=False)
        model = self.llm._model
        self.formatter = Jinja2ChatFormatter(
            template=self.llm.metadata["tokenizer.chat_template"],
            eos_token=model.token_get_text(self.llm.token_eos()),
            bos_token=model.token_get_text(self.llm.token_bos()),
        )

    def prompt_tokens(self, body: dict) -> int:
        messages, tools, choice = body["messages"], body.get("tools"), body.get("tool_choice")
        rendered = self.formatter(messages=messages, tools=tools, tool_choice=choice)
        return len(self.llm.tokenize(rendered.prompt.encode(), add_bos=not rendered.added_special, special=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="*", default=[str(f) for f in FOLDERS])
    args = parser.parse_args(argv)
    counter = Counter()
    extractor = _extractor("embedded", None, "tools", Options())
    rows = []
    for letter in discover(args.folders):
        text = read(letter.path)
        body = request_body(text, extractor)
        shown = counter.prompt_tokens(body)
        full = counter.prompt_tokens({**body, "messages": extractor.prompt.messages(text)})
        rows.append((str(letter.path.relative_to(ROOT)), len(text), shown, full))
    rows.sort(key=lambda r: r[3])
    for name, chars, shown, full in rows:
        print(f"{name:45s} {chars:7,d} chars  shown {shown:6,d}  full {full:6,d} tokens")
    for label, column in (("shown", 2), ("full", 3)):
        values = [r[column] for r in rows]
        q = statistics.quantiles(values, n=10)
        print(f"{label}: {len(values)} letters · min {min(values):,} · median {statistics.median(values):,.0f} · "
              f"p90 {q[-1]:,.0f} · max {max(values):,}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
