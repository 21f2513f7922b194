"""The drug class of a generic name: a closed table, so "which drugs are denied" can be counted by class.

`drug_class("hydrocodone/acetaminophen")` is `DrugClass.OPIOID`; a generic the table does not
know is None, never a guess. The class is a derived value (`Treatment.drug_class`), computed
from the generic name that `normalize.GENERIC_NAMES` already fills from brand names; it is
never read from a letter or asked of a model.

Sources followed. Each generic's class is the section of the MTUS Chronic Pain Medical
Treatment Guidelines (8 CCR 9792.24.2) that governs it — "Opioids", "NSAIDs", "Muscle
relaxants (for pain)", "Antiepilepsy drugs", "Antidepressants for chronic pain", "Topical
analgesics", "Benzodiazepines", "NSAIDs, GI symptoms" (proton-pump inhibitors, H2 blockers),
"Opioids, induced constipation" — and ODG's Pain chapter "Insomnia treatment" for sleep aids;
drugs outside those sections take the FDA Established Pharmacologic Class (EPC) printed in
their DailyMed labels (e.g. triptans, corticosteroids, antiemetics, antipsychotics). The table
was transcribed by hand from those documents, not downloaded, and covers the drugs of the MTUS
Drug Formulary's pain, musculoskeletal and psychiatric lists (8 CCR 9792.27.15) that IMR letters
request, plus the common medical foods they deny.

Rules for what the table does not hold as a whole:

- Salts, release forms and spacing are dropped before lookup ("naproxen sodium", "tramadol
  ER", "hydrocodone bitartrate / APAP" is "hydrocodone/acetaminophen"), and ingredient order
  does not matter.
- Fixed-dose products are in the table as combinations ("hydrocodone/acetaminophen",
  "buprenorphine/naloxone" are opioids; "naproxen/esomeprazole" an NSAID): a product's class is
  its active analgesic's, as its label's EPC lists first.
- Any other multi-ingredient generic is a compounded product, which in these letters is a
  topical cream: it is `TOPICAL` when it holds a topical-only ingredient (capsaicin, menthol,
  camphor, methyl salicylate, lidocaine …) or when every ingredient is known and they are not
  all one class ("flurbiprofen/cyclobenzaprine"); it is that one class when all share it; and
  None when an ingredient is unknown and nothing marks it topical.
"""

from __future__ import annotations

import re
from enum import Enum


class DrugClass(str, Enum):
    """Groups a researcher counts medication requests by (the state's reports use the first few)."""

    OPIOID = "opioid"
    NSAID = "NSAID"
    MUSCLE_RELAXANT = "muscle relaxant"
    ANTICONVULSANT = "anticonvulsant"
    ANTIDEPRESSANT = "antidepressant"
    TOPICAL = "topical analgesic or compound"
    PROTON_PUMP_INHIBITOR = "proton-pump inhibitor"
    H2_BLOCKER = "H2 blocker"
    SLEEP_AID = "sleep aid"
    BENZODIAZEPINE = "benzodiazepine"
    OPIOID_ANTAGONIST = "opioid antagonist"
    CONSTIPATION = "laxative or constipation treatment"
    NON_OPIOID_ANALGESIC = "non-opioid analgesic"
    BARBITURATE_COMBINATION = "barbiturate combination"
    TRIPTAN = "triptan"
    CORTICOSTEROID = "corticosteroid"
    ANTIPSYCHOTIC = "antipsychotic"
    ANTIEMETIC = "antiemetic"
    ANXIOLYTIC = "anxiolytic (non-benzodiazepine)"
    STIMULANT = "stimulant or wakefulness agent"
    MEDICAL_FOOD = "medical food or supplement"


def _table(by_class: dict[DrugClass, str]) -> dict[str, DrugClass]:
    """Generic -> class, from one whitespace-separated list per class (combinations joined by "/")."""
    return {generic.replace("_", " "): cls for cls, names in by_class.items() for generic in names.split()}


# Multi-word generics are written with "_" for a space inside these lists.
CLASSES: dict[str, DrugClass] = _table(
    {
        DrugClass.OPIOID: """
            hydrocodone hydrocodone/acetaminophen hydrocodone/ibuprofen oxycodone oxycodone/acetaminophen
            oxycodone/aspirin oxycodone/ibuprofen oxycodone/naloxone oxycodone/naltrexone tramadol
            tramadol/acetaminophen tapentadol morphine morphine/naltrexone hydromorphone oxymorphone fentanyl
            methadone buprenorphine buprenorphine/naloxone codeine codeine/acetaminophen
            carisoprodol/aspirin/codeine butalbital/acetaminophen/caffeine/codeine butorphanol meperidine
            levorphanol pentazocine pentazocine/naloxone propoxyphene propoxyphene/acetaminophen
            dihydrocodeine/acetaminophen/caffeine benzhydrocodone/acetaminophen""",
        DrugClass.NSAID: """
            ibuprofen naproxen diclofenac diclofenac/misoprostol celecoxib meloxicam nabumetone etodolac
            ketorolac ketoprofen flurbiprofen oxaprozin piroxicam indomethacin sulindac diflunisal fenoprofen
            salsalate aspirin mefenamic_acid tolmetin meclofenamate naproxen/esomeprazole ibuprofen/famotidine
            choline_magnesium_trisalicylate""",
        DrugClass.MUSCLE_RELAXANT: """
            cyclobenzaprine carisoprodol tizanidine metaxalone methocarbamol baclofen chlorzoxazone orphenadrine
            orphenadrine/aspirin/caffeine dantrolene""",
        DrugClass.ANTICONVULSANT: """
            gabapentin pregabalin topiramate carbamazepine oxcarbazepine levetiracetam divalproex valproic_acid
            lamotrigine phenytoin zonisamide lacosamide tiagabine""",
        DrugClass.ANTIDEPRESSANT: """
            duloxetine milnacipran venlafaxine desvenlafaxine amitriptyline nortriptyline desipramine imipramine
            doxepin trazodone bupropion mirtazapine escitalopram citalopram sertraline fluoxetine paroxetine
            vilazodone vortioxetine nefazodone""",
        DrugClass.TOPICAL: """
            lidocaine capsaicin menthol camphor methyl_salicylate trolamine_salicylate lidocaine/prilocaine
            methyl_salicylate/menthol methyl_salicylate/capsaicin/menthol/lidocaine menthol/lidocaine""",
        DrugClass.PROTON_PUMP_INHIBITOR: """
            omeprazole esomeprazole pantoprazole lansoprazole dexlansoprazole rabeprazole
            omeprazole/sodium_bicarbonate""",
        DrugClass.H2_BLOCKER: "ranitidine famotidine cimetidine nizatidine",
        DrugClass.SLEEP_AID: "zolpidem eszopiclone zaleplon ramelteon suvorexant melatonin",
        DrugClass.BENZODIAZEPINE: """
            alprazolam diazepam clonazepam lorazepam temazepam chlordiazepoxide oxazepam triazolam clorazepate""",
        DrugClass.OPIOID_ANTAGONIST: "naloxone naltrexone",
        DrugClass.CONSTIPATION: """
            docusate senna docusate/senna sennosides bisacodyl polyethylene_glycol lactulose lubiprostone
            naloxegol methylnaltrexone linaclotide""",
        DrugClass.NON_OPIOID_ANALGESIC: "acetaminophen",
        DrugClass.BARBITURATE_COMBINATION: "butalbital/acetaminophen/caffeine butalbital/aspirin/caffeine",
        DrugClass.TRIPTAN: "sumatriptan rizatriptan zolmitriptan eletriptan naratriptan almotriptan frovatriptan",
        DrugClass.CORTICOSTEROID: "methylprednisolone prednisone prednisolone dexamethasone triamcinolone",
        DrugClass.ANTIPSYCHOTIC: "quetiapine aripiprazole olanzapine risperidone ziprasidone lurasidone",
        DrugClass.ANTIEMETIC: "ondansetron promethazine metoclopramide prochlorperazine",
        DrugClass.ANXIOLYTIC: "buspirone hydroxyzine",
        DrugClass.STIMULANT: "modafinil armodafinil methylphenidate",
        DrugClass.MEDICAL_FOOD: """
            glucosamine chondroitin glucosamine/chondroitin theramine sentra_am sentra_pm trepadone gabadone""",
    }
)

TOPICAL_ONLY = frozenset({"capsaicin", "menthol", "camphor", "methyl salicylate", "trolamine salicylate", "lidocaine"})
"""Ingredients that, in a compounded product, make it a topical one."""

ALIASES = {"apap": "acetaminophen", "paracetamol": "acetaminophen", "asa": "aspirin"}
_SALT = re.compile(
    r"\b(?:sodium|potassium|magnesium|calcium|hydrochloride|hcl|bitartrate|tartrate|sulfate|citrate|maleate|"
    r"besylate|succinate|mesylate|fumarate|phosphate|acetate|extended[- ]release|er|xr|sr|cr|la|ir|dr|topical|"
    r"patch|cream|gel|ointment|tablets?|capsules?)\b"
)
_SPLIT = re.compile(r"\s*(?:/|\+|,|;|\band\b|\bwith\b)\s*")


def ingredients(generic: str) -> tuple[str, ...]:
    """'Hydrocodone Bitartrate / APAP' -> ('hydrocodone', 'acetaminophen'): salts and forms dropped."""
    parts = (" ".join(_SALT.sub(" ", part).split()) for part in _SPLIT.split(generic.lower()))
    return tuple(ALIASES.get(part, part) for part in parts if part)


_BY_INGREDIENTS: dict[frozenset[str], DrugClass] = {frozenset(ingredients(g)): c for g, c in CLASSES.items()}


def drug_class(generic: str | None) -> DrugClass | None:
    """The class of a generic name (see the module's rules); None when it is not known."""
    if not generic:
        return None
    parts = ingredients(generic)
    if not parts:
        return None
    known = _BY_INGREDIENTS.get(frozenset(parts))
    if known is not None or len(parts) == 1:
        return known
    classes = [_BY_INGREDIENTS.get(frozenset({part})) for part in parts]
    if TOPICAL_ONLY.intersection(parts):
        return DrugClass.TOPICAL
    if None in classes:
        return None
    return classes[0] if len(set(classes)) == 1 else DrugClass.TOPICAL
