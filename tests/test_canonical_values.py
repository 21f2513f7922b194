"""Derived canonical values: drug class beside the generic name, the closed-set guideline beside the document."""

import json
from pathlib import Path

import pytest

from conftest import ROOT, gold
from imr_llm import Determination
from imr_llm.drugs import CLASSES, DrugClass, drug_class, ingredients
from imr_llm.guidelines import Guideline, guideline
from imr_llm.normalize import GENERIC_NAMES
from imr_llm.schema import GuidelineCitation, Treatment

GOLD_FILES = sorted((ROOT / "evals" / "gold").glob("*.json")) + sorted(
    (ROOT / "evals" / "corpus" / "gold").glob("*.json")
)


def gold_items() -> list[dict]:
    return [item for path in GOLD_FILES for item in json.loads(Path(path).read_text(encoding="utf-8"))["items"]]


def test_every_generic_the_letters_and_the_brand_table_name_has_a_class() -> None:
    named = {i["treatment"]["generic_name"] for i in gold_items() if i["treatment"]["generic_name"]}
    assert len(named) >= 10  # the gold records do name drugs
    assert {g: drug_class(g) for g in named if drug_class(g) is None} == {}
    assert {g: drug_class(g) for g in set(GENERIC_NAMES.values()) if drug_class(g) is None} == {}
    assert len(CLASSES) + len(GENERIC_NAMES) >= 250  # "a few hundred brands and generics"


@pytest.mark.parametrize(
    ("generic", "expected"),
    [
        ("hydrocodone/acetaminophen", DrugClass.OPIOID),  # a fixed-dose product takes its analgesic's class
        ("Acetaminophen / Hydrocodone Bitartrate", DrugClass.OPIOID),  # order, salts and case do not matter
        ("hydrocodone/APAP", DrugClass.OPIOID),
        ("tramadol ER", DrugClass.OPIOID),
        ("naproxen sodium", DrugClass.NSAID),
        ("naproxen/esomeprazole", DrugClass.NSAID),
        ("flurbiprofen", DrugClass.NSAID),
        ("flurbiprofen/capsaicin/menthol/camphor", DrugClass.TOPICAL),  # a topical-only ingredient
        ("flurbiprofen/cyclobenzaprine", DrugClass.TOPICAL),  # unlisted mixture of classes: a compound
        ("gabapentin/pregabalin", DrugClass.ANTICONVULSANT),  # unlisted, one class
        ("lidocaine", DrugClass.TOPICAL),
        ("eszopiclone", DrugClass.SLEEP_AID),
        ("omeprazole", DrugClass.PROTON_PUMP_INHIBITOR),
        ("naloxone", DrugClass.OPIOID_ANTAGONIST),
        ("not-a-drug", None),  # unknown: null, never guessed
        ("flurbiprofen/not-a-drug", None),  # an unknown ingredient and nothing topical about it
        ("", None),
        (None, None),
    ],
)
def test_drug_class_rules(generic: str | None, expected: DrugClass | None) -> None:
    assert drug_class(generic) is expected


def test_ingredients_drop_salts_and_forms_only() -> None:
    assert ingredients("Cyclobenzaprine HCl ER / methyl salicylate") == ("cyclobenzaprine", "methyl salicylate")


def test_each_generic_is_in_one_class_only() -> None:
    keys = [frozenset(ingredients(g)) for g in CLASSES]
    assert len(keys) == len(set(keys))


def test_gold_citations_map_to_the_closed_set() -> None:
    seen: dict[tuple[str | None, str | None], Guideline | None] = {}
    for item in gold_items():
        for key in ("claims_administrator_guideline", "reviewer_guideline"):
            c = item[key]
            seen[c["document"], c["topic"]] = guideline(c["document"], c["sources"], c["topic"], c["mtus_based"])
    assert {k: v for k, v in seen.items() if k[0] is None} == {(None, None): None}  # no citation: null
    assert all(v not in (None, Guideline.OTHER) for k, v in seen.items() if k[0] is not None)
    # one document, written three ways, is one value
    for document in ("MTUS Chronic Pain Treatment Guidelines", "Chronic Pain Medical Treatment Guidelines",
                     "MTUS Chronic Pain Medical Treatment Guidelines"):  # fmt: skip
        assert {v for (d, _), v in seen.items() if d == document} == {Guideline.MTUS_CHRONIC_PAIN}
    assert seen["ACOEM Practice Guidelines", "Low Back Complaints"] is Guideline.ACOEM_12
    assert seen["ACOEM Practice Guidelines", "Stress Related Conditions"] is Guideline.ACOEM_15
    assert seen["Official Disability Guidelines", "Knee and Leg Chapter, Continuous-flow cryotherapy"] is (
        Guideline.ODG_KNEE_LEG
    )
    assert seen["Official Disability Guidelines", "Pain - Naloxone"] is Guideline.ODG_PAIN
    assert seen["Official Disability Guidelines", "Naloxone (Narcan)"] is Guideline.ODG_UNSPECIFIED
    assert seen["Postsurgical Treatment Guidelines", "Shoulder"] is Guideline.MTUS_POSTSURGICAL
    assert seen["MTUS Acupuncture Treatment Guidelines", None] is Guideline.MTUS_ACUPUNCTURE


@pytest.mark.parametrize(
    ("document", "sources", "topic", "mtus_based", "expected"),
    [
        (
            "ACOEM Practice Guidelines, 2nd Edition (2004), Chapter 7, page 127",
            ["MTUS", "ACOEM"],
            None,
            True,
            Guideline.ACOEM_7,
        ),
        ("ACOEM Practice Guidelines", ["ACOEM"], "Low Back Complaints", False, Guideline.OTHER),  # not the MTUS's
        ("Official Disability Guidelines (ODG), Pain (Chronic) Chapter", ["ODG"], "Opioids", False, Guideline.ODG_PAIN),
        (None, ["ODG"], "Low Back - Lumbar & Thoracic (Acute & Chronic), MRI", False, Guideline.ODG_LOW_BACK),
        (None, ["MTUS", "ACOEM"], "Shoulder Complaints", True, Guideline.ACOEM_9),
        ("MTUS", ["MTUS"], None, True, Guideline.MTUS_UNSPECIFIED),
        ("Medical Disability Advisor", ["other"], None, False, Guideline.OTHER),
        (None, [], None, False, None),
    ],
)
def test_guideline_rules(document, sources, topic, mtus_based, expected) -> None:
    assert guideline(document, sources, topic, mtus_based) is expected


def test_family_drops_the_chapter() -> None:
    assert Guideline.ACOEM_12.family == "MTUS ACOEM" and Guideline.ODG_PAIN.family == "ODG"
    assert Guideline.MTUS_CHRONIC_PAIN.family == Guideline.MTUS_CHRONIC_PAIN.value


def test_derived_values_are_in_every_dump_but_not_in_the_tool_or_read_from_input() -> None:
    schema = json.dumps(Determination.model_json_schema())
    assert "drug_class" not in schema and '"guideline"' not in schema
    record = Determination.model_validate(gold("000_c5f77487a4b823e6"))
    data = record.model_dump(mode="json")
    assert data["items"][1]["treatment"]["drug_class"] == "opioid"  # Norco
    assert data["items"][1]["reviewer_guideline"]["guideline"] == Guideline.MTUS_CHRONIC_PAIN.value
    assert Determination.model_validate(data) == record  # the dump reads back to the same record
    forged = Treatment.model_validate({"category": "imaging", "name": "MRI", "generic_name": None, "strength": None,
                                       "quantity": None, "refills": None, "visits": None, "body_region": None,
                                       "timing": None, "drug_class": "opioid"})  # fmt: skip
    assert forged.drug_class is None  # computed, never taken from input
    cited = GuidelineCitation.model_validate({"mtus_based": False, "sources": ["ODG"], "document": None, "topic": None,
                                              "pages": [], "guideline": "other"})  # fmt: skip
    assert cited.guideline is Guideline.ODG_UNSPECIFIED


def test_a_drug_class_only_for_medication_items() -> None:
    base = {"name": "Lidocaine injection", "generic_name": "lidocaine", "strength": None, "quantity": None,
            "refills": None, "visits": None, "body_region": None, "timing": None}  # fmt: skip
    assert Treatment.model_validate(base | {"category": "injection"}).drug_class is None
    assert Treatment.model_validate(base | {"category": "medication"}).drug_class is DrugClass.TOPICAL
