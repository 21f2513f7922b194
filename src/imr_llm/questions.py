"""Gap questions: what `per_item` shows a model, and asks it, for one field the rules left open.

Prompt evaluation and generation are most of a small local model's time, so a gap question is as
small as it can be on both sides:
- it shows only the sentences that state the field (`stating`): its cue, and for a date a date too
  — a few lines where the letter's credentials and summary run to a thousand tokens or more;
- it asks for that one field (`question`): a response model holding only the field, with the
  record's own type, bounds, validators and description. Its answer is a few tokens, and each kind
  of question has one stable tool schema, which comes before the letter's words in the prompt, so
  llama.cpp reuses the evaluated system text and schema from one letter to the next.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, create_model

from imr_llm import rules
from imr_llm.fields import Field
from imr_llm.paths import FieldPath
from imr_llm.vocabulary import INSTRUCTION

if TYPE_CHECKING:
    from imr_llm.job import Job

_SENTENCE = re.compile(r"(?<=[.;!?])\s+(?=[A-Z(\"'])|\n\s*\n")


def sentences(block: str) -> list[str]:
    """The sentences (and paragraphs) of `block`, as gap questions split it."""
    return [s for s in _SENTENCE.split(block) if s.strip()]


def stating(block: str, field: Field) -> str:
    """The sentences of `block` that state `field` (its cue; for a date, a date too), in order, never
    one that reads as an instruction to a model (`vocabulary.INSTRUCTION`); "" when none does: then the
    letter does not state it, and there is nothing to ask."""
    kept = []
    for sentence in sentences(block):
        flat = " ".join(sentence.split())
        if INSTRUCTION.search(flat):  # a planted instruction is never shown to a model
            continue
        if field.cue and re.search(field.cue, flat, re.I) and (field.origin != "date" or re.search(rules.DATE, flat)):
            kept.append(flat)
    return "\n".join(kept)


@functools.cache
def question(root: type[BaseModel], path: FieldPath) -> type[BaseModel]:
    """The response model asking for the field at `path` of `root` (e.g. `patient.diagnoses` of a
    `Determination`): that one field as the record declares it, named for its path ("PatientDiagnoses")."""
    owner: Any = root
    for key in path.keys[:-1]:
        owner = owner.model_fields[str(key)].annotation
    name = str(path.keys[-1])
    info = owner.model_fields[name]
    title = "".join(word.title() for word in re.split(r"[._]", str(path)))
    return create_model(title, **{name: (info.annotation, info)})


def ask(job: Job, root: type[BaseModel], field: Field, block: str, part: str) -> Any:
    """The model's value for `field` (a path from `root`), shown `block` through the prompt's `part`.
    Raises `ExtractionError` as `job.ask` does (kind "validation" when no answer fits the field)."""
    answer = job.ask(question(root, field.path), job.prompt.messages(block, part=part))
    return getattr(answer, str(field.path.keys[-1]))
