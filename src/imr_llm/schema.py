"""The record: a `Determination` and its disputed `Item`s.

Field descriptions double as the model's instructions. Lists are bounded because small
models loop on unbounded ones; the record's `items` is not (only the model's tool bounds
them), so a long letter keeps every item. Where a letter writes a value many ways (dates, page
ranges, quantities, states) the field accepts the text as written and a validator from
`normalize` computes the canonical value, so the model copies and Python does arithmetic.
Every field is required (nullable where a letter may lack it): llama.cpp's grammar lets a
model skip optional keys, and small models then skip what they should have filled.
`Determination.model_json_schema()` is the contract; records round-trip through JSON. This module
imports nothing of the pipeline above it: `imr_llm.review` gives records their notebook view.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, computed_field, model_validator

from imr_llm import normalize
from imr_llm.drugs import DrugClass, drug_class
from imr_llm.guidelines import Guideline, guideline

SCHEMA_VERSION = "3"
NOT_LABELS = frozenset({"evidence", "ungrounded", "rejected", "needs_review"})
"""Fields that describe how a record was made, not what the letter says: never in gold, never scored."""


class Decision(str, Enum):
    """IMR outcome for one item: `upheld` means the denial stands (not medically necessary)."""

    UPHELD = "upheld"
    OVERTURNED = "overturned"


class Category(str, Enum):
    MEDICATION = "medication"
    PHYSICAL_THERAPY = "physical_therapy"
    CHIROPRACTIC = "chiropractic"
    ACUPUNCTURE = "acupuncture"
    INJECTION = "injection"
    SURGERY = "surgery"
    IMAGING = "imaging"
    DIAGNOSTIC_TEST = "diagnostic_test"
    DURABLE_MEDICAL_EQUIPMENT = "durable_medical_equipment"
    PSYCHOLOGICAL = "psychological"
    CONSULTATION = "consultation"
    OTHER = "other"


class Timing(str, Enum):
    PROSPECTIVE = "prospective"
    RETROSPECTIVE = "retrospective"


class GuidelineSource(str, Enum):
    MTUS = "MTUS"
    ODG = "ODG"
    ACOEM = "ACOEM"
    OTHER = "other"


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _source(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if "official disability" in text.lower():
        return "ODG"
    upper = text.upper()
    return upper if upper in {"MTUS", "ODG", "ACOEM"} else "other"


def _sex(value: object) -> object:
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    return {"f": "female", "woman": "female", "m": "male", "man": "male"}.get(text, text or None)


Text = Annotated[str, BeforeValidator(lambda v: " ".join(v.split()) if isinstance(v, str) else v)]
MaybeText = Annotated[str | None, BeforeValidator(normalize.none_if_unknown)]
LetterDate = Annotated[
    date | None,
    BeforeValidator(normalize.parse_date, json_schema_input_type=str | None),
]
Pages = Annotated[
    list[int],
    BeforeValidator(
        normalize.parse_pages,
        json_schema_input_type=str | Annotated[list[int], Field(max_length=60)],
    ),
]


def _count(parse: Callable[[object], int | None], most: int | None = None) -> Any:
    """An optional non-negative int that accepts the letter's wording ("#60", "x 3")."""
    number = Annotated[int, Field(ge=0, le=most)]
    return Annotated[number | None, BeforeValidator(parse, json_schema_input_type=str | int | None)]


Count = _count(normalize.first_int)


class Reviewer(BaseModel):
    """The expert reviewer's credentials, from 'HOW THE IMR FINAL DETERMINATION WAS MADE'."""

    specialties: list[Text] = Field(
        max_length=6,
        description='Board certifications ("Board Certified in …", "Certification(s)/Specialty:"), e.g. ["Internal Medicine", "Pulmonary Diseases"]; not subspecialties.',
    )
    subspecialties: list[Text] = Field(
        max_length=4,
        description='Subspecialties, e.g. ["Pain Medicine"]; [] if none is stated.',
    )
    licensed_states: Annotated[
        list[str],
        BeforeValidator(
            normalize.state_codes,
            json_schema_input_type=str | Annotated[list[str], Field(max_length=10)],
        ),
    ] = Field(
        max_length=10,
        description='States of licensure as written, e.g. "Texas and Florida" (stored as ["TX", "FL"]).',
    )


class Patient(BaseModel):
    """The injured worker, from the 'CLINICAL CASE SUMMARY'."""

    age: _count(normalize.first_int, most=120) = Field(description="Age in years.")
    sex: Annotated[Literal["male", "female"] | None, BeforeValidator(_sex)] = Field(description='"male" or "female".')
    date_of_injury: LetterDate = Field(description='Date of injury as written, e.g. "6/7/12" or "August 4, 2011".')
    mechanism_of_injury: MaybeText = Field(
        description="How the injury happened, in the letter's words; null if not documented or unknown.",
    )
    diagnoses: list[Text] = Field(
        max_length=12,
        description='Short diagnosis phrases the summary names as diagnoses ("The diagnoses are …", "Diagnostic impression: …"); [] if none.',
    )


class Treatment(BaseModel):
    """What was requested, broken into countable parts."""

    category: Annotated[Category, BeforeValidator(_lower)] = Field(description="Kind of treatment.")
    name: Text = Field(description='Treatment as requested, e.g. "Norco" or "Acupuncture".')
    generic_name: Annotated[str | None, BeforeValidator(_lower)] = Field(
        description='Generic drug name, e.g. Norco -> "hydrocodone/acetaminophen"; null if not a drug.'
    )
    strength: Annotated[str | None, BeforeValidator(normalize.strength)] = Field(
        description='Strength as written in the item heading, e.g. "10/325mg"; null if none.'
    )
    quantity: Count = Field(
        description='Units requested, the number after "#" in the heading ("#60" -> 60); null if none.'
    )
    refills: _count(normalize.parse_refills) = Field(description='Refills, e.g. "refills x 3" -> 3; null if none.')
    visits: _count(normalize.parse_visits) = Field(
        description='Visits or sessions as written, e.g. "2 times a week for 4 weeks" (stored as 8); null if none.',
    )
    body_region: MaybeText = Field(description='Body region treated, e.g. "cervical spine"; null if none.')
    timing: Annotated[Timing | None, BeforeValidator(_lower)] = Field(
        description='"prospective" or "retrospective" when the request says so, else null.'
    )

    @model_validator(mode="after")
    def _fill_generic(self) -> Treatment:
        """Small models skip or mis-spell generics; the brand table is more reliable. A combination
        already named by its ingredients ("ketoprofen/gabapentin/lidocaine") is kept whole: the table
        would shorten it to the one ingredient it knows."""
        known = normalize.generic_name(self.name)
        if self.category is Category.MEDICATION and known:
            self.generic_name = known
        elif self.generic_name and "/" not in self.generic_name:
            self.generic_name = normalize.generic_name(self.generic_name) or self.generic_name
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def drug_class(self) -> DrugClass | None:
        """Derived from `generic_name` by `imr_llm.drugs` (medications only): in every dump, never in the tool."""
        return drug_class(self.generic_name) if self.category is Category.MEDICATION else None


class GuidelineCitation(BaseModel):
    """One guideline line: 'Claims Administrator guideline: …' or 'MAXIMUS guideline: …'."""

    mtus_based: bool = Field(
        description='False when the line says the decision was not based on the MTUS ("Non-MTUS").'
    )
    sources: list[Annotated[GuidelineSource, BeforeValidator(_source)]] = Field(
        max_length=4,
        description='Guideline bodies cited: "MTUS", "ODG" (Official Disability Guidelines), "ACOEM", "other".',
    )
    document: MaybeText = Field(description='Guideline document, e.g. "MTUS Chronic Pain Treatment Guidelines".')
    topic: MaybeText = Field(
        description='Topic after the document name, e.g. "Opioids, criteria for use"; null if none.'
    )
    pages: Pages = Field(
        max_length=60,
        description='Pages exactly as written after "Page(s):", e.g. "41-42 and 64"; "" if none.',
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def guideline(self) -> Guideline | None:
        """The cited document as a closed set, derived by `imr_llm.guidelines`: in every dump, never in the tool."""
        return guideline(self.document, [s.value for s in self.sources], self.topic, self.mtus_based)


class Item(BaseModel):
    """One disputed item/service and the reviewer's decision on it."""

    request: Annotated[str, BeforeValidator(lambda v: normalize.strip_numbering(v) if isinstance(v, str) else v)] = (
        Field(
            min_length=1,
            description='The item heading exactly as written, without list numbering and without the decision, e.g. "Prescription of Ultram ER 200mg #30".',
        )
    )
    decision: Annotated[Decision, BeforeValidator(_lower)] = Field(
        description='The word after the heading: "upheld" (denial stands) or "overturned".'
    )
    treatment: Treatment
    claims_administrator_guideline: GuidelineCitation = Field(description='The "Claims Administrator guideline:" line.')
    reviewer_guideline: GuidelineCitation = Field(
        description='The "MAXIMUS guideline:" line (the reviewer\'s own citation).'
    )
    rationale: Text = Field(description='The "Decision rationale:" text, verbatim.')


ITEMS = "Every disputed item the letter decides, in order."


class Evidence(BaseModel):
    """Where one field's value came from, and its span in the letter when it has one."""

    path: str = Field(description='Field path, e.g. "items.0.rationale" or "patient.diagnoses.1".')
    source: Literal["layout", "model"] = Field(
        description='"layout": read off the letter\'s structure by rule; "model": the language model.'
    )
    start: int | None = Field(None, description="Character offset of the value's text in the letter.")
    end: int | None = Field(None, description="End offset: letter[start:end] holds the value.")


class Header(BaseModel):
    """What the letter's header states of the letter itself: read by rule (`imr_llm.rules.header`),
    never asked of a model, so no model's tool schema holds it. Defaults, so gold records labelled
    before these fields existed still load."""

    case_number: MaybeText = Field(
        None, description='The IMR case number as written, e.g. "CM13-0021874"; the key to join and dedupe on.'
    )
    decision_date: LetterDate = Field(
        None, description='Date the determination was issued ("Decision Date:", a 2013 notice\'s "Dated:").'
    )


class Determination(Header):
    """One IMR final determination letter as a record, with the evidence for its values."""

    model_config = ConfigDict(title="Determination", json_schema_extra={"schema_version": SCHEMA_VERSION})

    reviewer: Reviewer
    patient: Patient
    ur_decision_date: LetterDate = Field(
        description="Date of the Utilization Review (UR) decision, as written; null if not given."
    )
    # Unbounded: a letter may list more items than a model is asked for at once (`imr_llm.pointers`).
    items: list[Item] = Field(min_length=1, description=ITEMS)

    evidence: list[Evidence] = Field(
        default_factory=list, description="Source and span of each verbatim or checked field."
    )
    ungrounded: list[str] = Field(
        default_factory=list,
        description="Paths of values that could not be found in (or derived from) the letter's text.",
    )
    rejected: list[str] = Field(
        default_factory=list,
        description="Paths whose value as written failed validation (an impossible date, age or page, more "
        "entries than the field holds): left empty rather than guessed, so the rest of the letter is kept.",
    )
    needs_review: list[str] = Field(
        default_factory=list,
        description="Why a person should check this record (the letter's layout was inconsistent, a value was "
        "rejected …); empty for a record nothing casts doubt on. Filter on it before counting.",
    )
