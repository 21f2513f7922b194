"""Pure functions that turn what a letter writes into one canonical value.

The model is asked to *copy* values as the letter writes them ("6/7/12", "#60",
"41-42 and 64", "Texas and Florida"); these functions do the arithmetic and lookups
that small models get wrong. Each accepts the already-canonical form too, so a record
read back from JSON validates to itself. A ValueError says which rule the value broke and
never quotes it: the value is letter text, and pydantic copies the message into its errors.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TypeVar

import us
from dateutil import parser as dateparser

T = TypeVar("T")
_NUMBERING = re.compile(r"^\s*(?:\(\s*\d+\s*\)|\d+\s*[.)]|[-*\u2022])\s*")
_UNKNOWN = re.compile(
    r"^\s*(?:n/?a|none|null|unknown|not\s+(?:documented|stated|specified|reported|provided|noted|known)"
    r"|the mechanism of injury (?:is|was) (?:unknown|not documented))\s*\.?\s*$",
    re.IGNORECASE,
)
_RANGE = re.compile(r"(\d+)\s*(?:-|\u2013|\u2014|to|through)\s*(\d+)")
_NUMBER = re.compile(r"\d+")
_FREQUENCY = re.compile(
    r"(\d+)\s*(?:x|times?)\s*(?:a|per|/)?\s*(?:week|wk)\w*\s*(?:for|x|times)?\s*(\d+)\s*(?:weeks?|wks?)",
    re.IGNORECASE,
)
_VISITS = re.compile(r"(\d+)\s*(?:visits?|sessions?|treatments?)", re.IGNORECASE)
TIMES_BY_WEEKS = re.compile(r"(?<![#\d.])\b(\d{1,2})\s*[xX]\s*(\d{1,2})\b(?!\s*(?:mg|mcg|ml|g|%|cm|mm)\b)")
"""Visits written as a frequency by a number of weeks: "PT 2x6", "3 x 4" (not "#60 x 2", "10x20 mm")."""
_QUANTITY = re.compile(r"#\s*(\d+)|(\d+)")
_UNIT = re.compile(r"(\d)\s*(mg|mcg|g|ml|meq|units?|%)\b", re.IGNORECASE)
_REFILLS_AFTER = re.compile(r"refills?\s*(?:x|:)?\s*(\d+)", re.IGNORECASE)
_REFILLS_BEFORE = re.compile(r"(\d+)\s*refills?", re.IGNORECASE)

MAX_PAGE_SPAN = 300
"""A "page range" wider than this is a misread section number, not pages."""

# Brand names that recur in IMR letters, mapped to the generic a researcher counts by.
GENERIC_NAMES: dict[str, str] = {
    "norco": "hydrocodone/acetaminophen",
    "vicodin": "hydrocodone/acetaminophen",
    "lortab": "hydrocodone/acetaminophen",
    "percocet": "oxycodone/acetaminophen",
    "oxycontin": "oxycodone",
    "flexeril": "cyclobenzaprine",
    "fexmid": "cyclobenzaprine",
    "amrix": "cyclobenzaprine",
    "ultram": "tramadol",
    "ultracet": "tramadol/acetaminophen",
    "soma": "carisoprodol",
    "neurontin": "gabapentin",
    "lyrica": "pregabalin",
    "prilosec": "omeprazole",
    "protonix": "pantoprazole",
    "prevacid": "lansoprazole",
    "celebrex": "celecoxib",
    "motrin": "ibuprofen",
    "naprosyn": "naproxen",
    "anaprox": "naproxen",
    "relafen": "nabumetone",
    "mobic": "meloxicam",
    "voltaren": "diclofenac",
    "zanaflex": "tizanidine",
    "skelaxin": "metaxalone",
    "robaxin": "methocarbamol",
    "ambien": "zolpidem",
    "cymbalta": "duloxetine",
    "elavil": "amitriptyline",
    "lidoderm": "lidocaine",
    "terocin": "methyl salicylate/capsaicin/menthol/lidocaine",
    "narcan": "naloxone",
    "nucynta": "tapentadol",
    "duragesic": "fentanyl",
    "xanax": "alprazolam",
    "valium": "diazepam",
    "klonopin": "clonazepam",
    "topamax": "topiramate",
    "wellbutrin": "bupropion",
    "desyrel": "trazodone",
    "lunesta": "eszopiclone",
    "sonata": "zaleplon",
    "restoril": "temazepam",
    "ativan": "lorazepam",
    "dilaudid": "hydromorphone",
    "exalgo": "hydromorphone",
    "opana": "oxymorphone",
    "ms contin": "morphine",
    "kadian": "morphine",
    "avinza": "morphine",
    "embeda": "morphine/naltrexone",
    "butrans": "buprenorphine",
    "subutex": "buprenorphine",
    "suboxone": "buprenorphine/naloxone",
    "dolophine": "methadone",
    "roxicodone": "oxycodone",
    "xtampza": "oxycodone",
    "hysingla": "hydrocodone",
    "zohydro": "hydrocodone",
    "fentora": "fentanyl",
    "actiq": "fentanyl",
    "conzip": "tramadol",
    "ryzolt": "tramadol",
    "fioricet": "butalbital/acetaminophen/caffeine",
    "toradol": "ketorolac",
    "daypro": "oxaprozin",
    "lodine": "etodolac",
    "feldene": "piroxicam",
    "arthrotec": "diclofenac/misoprostol",
    "flector": "diclofenac",
    "pennsaid": "diclofenac",
    "zipsor": "diclofenac",
    "cambia": "diclofenac",
    "vimovo": "naproxen/esomeprazole",
    "duexis": "ibuprofen/famotidine",
    "nexium": "esomeprazole",
    "dexilant": "dexlansoprazole",
    "pepcid": "famotidine",
    "zantac": "ranitidine",
    "savella": "milnacipran",
    "effexor": "venlafaxine",
    "pristiq": "desvenlafaxine",
    "lexapro": "escitalopram",
    "zoloft": "sertraline",
    "prozac": "fluoxetine",
    "paxil": "paroxetine",
    "celexa": "citalopram",
    "pamelor": "nortriptyline",
    "remeron": "mirtazapine",
    "seroquel": "quetiapine",
    "abilify": "aripiprazole",
    "horizant": "gabapentin",
    "gralise": "gabapentin",
    "lioresal": "baclofen",
    "parafon forte": "chlorzoxazone",
    "norflex": "orphenadrine",
    "imitrex": "sumatriptan",
    "provigil": "modafinil",
    "nuvigil": "armodafinil",
    "medrol": "methylprednisolone",
    "tegretol": "carbamazepine",
    "trileptal": "oxcarbazepine",
    "keppra": "levetiracetam",
    "depakote": "divalproex",
    "lamictal": "lamotrigine",
    "colace": "docusate",
    "senokot": "senna",
    "amitiza": "lubiprostone",
    "movantik": "naloxegol",
    "relistor": "methylnaltrexone",
}


def strip_numbering(text: str) -> str:
    """'(1) Prescription of Ultram' -> 'Prescription of Ultram'; spacing collapsed."""
    return " ".join(_NUMBERING.sub("", text).split())


def none_if_unknown(text: T) -> T | None:
    """Letters say "not documented" / "unknown" for absent facts: that is no value."""
    if not isinstance(text, str):
        return text  # not text: the field's own type check rejects it (a number is not a sentence)
    text = " ".join(text.split())
    return None if not text or _UNKNOWN.match(text) else text


def parse_date(value: object) -> date | None:
    """'6/7/12', 'August 4, 2011', '06/08/2000', '2012-06-07' -> a date (US month-first)."""
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    if not isinstance(value, str):
        raise ValueError(f"expected a date or a date string, got {type(value).__name__}")
    text = value.strip()
    if none_if_unknown(text) is None:
        return None
    try:
        return dateparser.parse(text, dayfirst=False, yearfirst=False, fuzzy=False).date()
    except (ValueError, OverflowError):
        raise ValueError("not a recognisable date; write e.g. 6/7/2012") from None


def parse_pages(value: object) -> list[int]:
    """'41-42 and 64' -> [41, 42, 64]; also accepts ints and lists of either; sorted, unique."""
    if value is None:
        return []
    parts = value if isinstance(value, list | tuple) else [value]
    pages: set[int] = set()
    for part in parts:
        if isinstance(part, bool):
            raise ValueError("a page is a number, not true/false")
        if isinstance(part, int):
            pages.add(part)
            continue
        text = str(part)
        for lo, hi in _RANGE.findall(text):
            lo_i, hi_i = int(lo), int(hi)
            if hi_i < lo_i or hi_i - lo_i > MAX_PAGE_SPAN:
                raise ValueError(f"not a page range: the end must follow the start, at most {MAX_PAGE_SPAN} pages on")
            pages.update(range(lo_i, hi_i + 1))
        pages.update(int(n) for n in _NUMBER.findall(_RANGE.sub(" ", text)))
    if any(p <= 0 for p in pages):
        raise ValueError("page numbers start at 1")
    return sorted(pages)


def state_codes(value: object) -> list[str]:
    """'Texas and Florida' -> ['TX', 'FL']; accepts codes, names, or a list of either."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    codes: list[str] = []
    for item in items:
        for name in re.split(r",|;|/|\band\b|&", str(item)):
            name = name.strip().rstrip(".")
            if not name:
                continue
            state = us.states.lookup(name)
            if state is None:
                raise ValueError("not a US state name or code")
            if state.abbr not in codes:
                codes.append(state.abbr)
    return codes


def strength(value: object) -> object:
    """'10/325mg' -> '10/325 mg', '0.4MG/ML' -> '0.4 mg/ml': one spelling to count by."""
    text = none_if_unknown(value)
    if not isinstance(text, str):
        return text
    return " ".join(_UNIT.sub(lambda m: f"{m[1]} {m[2].lower()}", text).split()).replace("/ML", "/ml")


def first_int(value: object, pattern: re.Pattern[str] = _QUANTITY) -> int | None:
    """'#60' -> 60, '60 tablets' -> 60, 60 -> 60; None stays None."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value  # type: ignore[return-value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    match = pattern.search(str(value))
    if not match:
        if none_if_unknown(str(value)) is None:
            return None
        raise ValueError("no number in the text")
    return int(next(g for g in match.groups() if g is not None))


def parse_refills(value: object) -> int | None:
    """'refills x 3' / '3 refills' / 3 -> 3 ("#60 refills x 3" is 3, not 60)."""
    if isinstance(value, str):
        for pattern in (_REFILLS_AFTER, _REFILLS_BEFORE):
            if pattern.search(value):
                return first_int(value, pattern)
    return first_int(value)


def parse_visits(value: object) -> int | None:
    """'2 times a week for 4 weeks' -> 8, '6 visits' -> 6, '2x6' -> 12, 8 -> 8."""
    if isinstance(value, str):
        freq = _FREQUENCY.search(value)
        if freq:
            return int(freq.group(1)) * int(freq.group(2))
        if _VISITS.search(value):
            return first_int(value, _VISITS)
        if times := TIMES_BY_WEEKS.search(value):
            return int(times.group(1)) * int(times.group(2))
    return first_int(value)


def generic_name(name: str | None) -> str | None:
    """The generic for a brand or generic drug named anywhere in `name` ("Refill Norco")."""
    if not name:
        return None
    lowered = name.lower()
    for brand, generic in GENERIC_NAMES.items():
        if re.search(rf"\b{brand}\b", lowered):
            return generic
    for generic in GENERIC_NAMES.values():
        if re.search(rf"\b{re.escape(generic)}\b", lowered):
            return generic
    return None
