"""The letters as they really arrive (`evals/arrived`), scored and gated form by form.

    python evals/arrived.py [--strategy S] [--no-cache] [--fail-under 0.97]

A letter's form is its name up to the last "_" (`arr2013pdf_03` is of form `arr2013pdf`): a 2013
letter as its PDF prints it, double-spaced, decisions only in sentences, OCR damage, the case
number only in a running footer (evals/arrived/README.md). Each form must score like the others,
so each is gated on its own: field accuracy at least `--fail-under`, every decision right, every
item found, no letter failed (the gate `forms.py` holds every form of the corpus to).
"""

from __future__ import annotations

import argparse
import sys
from itertools import groupby
from pathlib import Path

from forms import eval_arguments, gate

ARRIVED = Path(__file__).resolve().parent / "arrived"


def main(argv: list[str] | None = None) -> int:
    from imr_llm.evals.dataset import load
    from imr_llm.evals.run import evaluate

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    eval_arguments(parser, strategy="per_item")
    args = parser.parse_args(argv)
    cases = load(ARRIVED / "text", [ARRIVED / "gold"])
    forms = [(form, list(group)) for form, group in groupby(cases, key=lambda case: case.name.rsplit("_", 1)[0])]
    return gate(
        [(form, evaluate(group, strategy=args.strategy, cache=not args.no_cache)) for form, group in forms],
        args.fail_under,
    )


if __name__ == "__main__":
    sys.exit(main())
