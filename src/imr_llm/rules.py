"""Fields read off the layout by rule, with no model: the `rules` strategy, and the yardstick
the model's answers are checked against.

Each public function takes letter text (or a span of it) and returns the schema's own objects
(`Treatment`, `GuidelineCitation`, `Reviewer`, `Patient`, a whole `Determination`); what a rule
cannot find is None or empty, never a guess. A value the letter writes impossibly ("Page(s): 0",
age 125) is validated field by field (`imr_llm.salvage`): its field is left empty, and `record`
lists it in `rejected`. The private `_…` readers give each part's values as written, the input
that validation turns into those objects.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel

from imr_llm import normalize, salvage
from imr_llm.canonical import CASE_NUMBER
from imr_llm.layout import Layout, Span
from imr_llm.schema import Determination, GuidelineCitation, Header, Patient, Reviewer, Treatment
from imr_llm.vocabulary import phrase

M = TypeVar("M", bound=BaseModel)

DATE = r"(?:\d{1,2}/\d{1,2}/\d{2,4}|[A-Z][a-z]{2,8}\.?\s+\d{1,2},?\s+\d{4})"
"""A date as letters write them: 6/7/12, 06/08/2000, August 4, 2011."""
_PAGES = re.compile(r"Page\(?s?\)?\s*:?\s*(?P<pages>\d+(?:\s*(?:[-\u2013,&]|,?\s*and)\s*\d+(?!\w))*(?![\w-]))", re.I)
_ACOEM_NAME = r"American\s+College\s+of\s+Occupational\s+and\s+Environmental\s+Medicine"
_DOCUMENT = re.compile(
    r"(?P<doc>\b(?:[A-Z][\w&/-]*\s+){1,7}?(?i:Guidelines)(?:\s*\(ODG\))?"
    rf"|\b{_ACOEM_NAME}(?:\s*\(ACOEM\))?|\bACOEM\b"
    r"|\b(?:[A-Z][\w&/-]*\s+){0,3}?(?:Clinical\s+)?(?:Policy\s+Bulletin|Medical\s+Policy|Coverage\s+Policy))"
)
"""A guideline document: capitalised words ending in "Guidelines" ("ACOEM Practice Guidelines"), the
American College of Occupational and Environmental Medicine by name, or a payer's policy ("Aetna
Clinical Policy Bulletin")."""
_NOT_BASED = r"did\s+not\s+base\s+(?:their|his/her|his|her|its|the)\s+decision\s+on\s+the\s+MTUS"
_NOT_MTUS = re.compile(_NOT_BASED, re.I)
_NOT_MTUS_SENTENCE = re.compile(_NOT_BASED + r"[^.]*\.", re.I)
_NOT_PART = re.compile(
    r"\(\s*(?:Non-MTUS|not\s+(?:a\s+)?part\s+of\s+the\s+MTUS)\s*\)"
    r"|,?\s*(?:which\s+(?:is|are)\s*)?not\s*(?:a\s+)?part\s+of\s+the\s+MTUS|Non-MTUS(?:\s+Citation)?\s*:?",
    re.I,
)
"""Words that name the MTUS to say a source is outside it: no MTUS source of their own."""
_NOT_TOPIC = re.compile(
    r"\([^()]*\b(?:19|20)\d{2}\)|\b(?:19|20)\d{2}\b|\d+(?:st|nd|rd|th)\s+Edition|Chapter\s+\d+|Table\s+[\d.\-]+"
    r"|\(?\s*(?:which\s+(?:is|are)\s*)?(?:not\s*)?(?:a\s+)?part\s+of\s+the\s+MTUS\s*\)?|\(\s*Non-MTUS\s*\)"
    r"|\(\s*(?:Number|No\.?)\s*[\w.-]+\s*\)|\(ACOEM\)",
    re.I,
)
"""Edition years, chapter and table numbers: between a document and its pages, but not its topic."""
_SPECIALTY_AND = {"physical medicine and rehabilitation", "obstetrics and gynecology", "allergy and immunology",
                  "psychiatry and neurology", "colon and rectal surgery"}  # fmt: skip


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" .;,:\"'\u201c\u201d\u2018\u2019")


def _pages(text: str) -> list[int] | str:
    """Every page the line cites ("page 30-32 … page 308"), sorted. Pages no letter can cite
    ("Page(s): 0", "1-127") are passed on as written, for validation to reject by their path."""
    pages: set[int] = set()
    for m in _PAGES.finditer(text):
        try:
            pages.update(normalize.parse_pages(m["pages"]))
        except ValueError:
            return m["pages"]
    return sorted(pages)


def _paired(topic: str) -> str:
    """`topic` without a parenthesis left over from an edition or chapter cut out of it ("), Low
    Back" after "(ACOEM), 2nd Edition, (2004)"); "Muscle Relaxants (for pain)" keeps its pair."""
    if topic.count(")") > topic.count("("):
        topic = topic.strip(") ,")
    if topic.count("(") > topic.count(")"):
        topic = topic.strip("( ,")
    return topic


def _topic(rest: str) -> str | None:
    """The words between a document and its pages, without editions, chapters and tables."""
    rest = re.split(r",\s+and\s+(?=[A-Z][^,]*\bChapter\b)", rest, maxsplit=1)[0]  # ", and Low Back Chapter": another
    parts = [_clean(p) for p in _NOT_TOPIC.sub("", rest).split(",")]
    topic = _paired(", ".join(p for p in parts if p and p not in "()"))
    return topic if re.search(r"[A-Za-z]", topic) else None


def _valid(model: type[M], values: dict[str, Any]) -> M:
    """`values` as `model`, a field whose value is impossible left empty (`salvage`)."""
    return salvage.salvage(model, values)[0]


def citation(line: Span | None) -> GuidelineCitation | None:
    """A guideline line as a citation (see `_citation`); None when there is no line."""
    values = _citation(line)
    return None if values is None else _valid(GuidelineCitation, values)


def _citation(line: Span | None) -> dict[str, Any] | None:
    """A guideline line -> mtus_based, sources, document (the first cited), topic, pages.

    A line that cites nothing of its own ("did not cite any evidence-based criteria", "found
    the guideline used by the Claims Administrator relevant") names no source, so it comes out
    as no citation: not MTUS-based, no sources, document, topic or pages."""
    if line is None:
        return None
    text = line.value
    body = _NOT_PART.sub(" ", _NOT_MTUS_SENTENCE.sub("", text))
    sources = []
    if re.search(r"\bMTUS\b", body):
        sources.append("MTUS")
    if re.search(r"Official\s+Disability|\bODG\b", body):
        sources.append("ODG")
    if re.search(rf"\bACOEM\b|{_ACOEM_NAME}", body, re.I):
        sources.append("ACOEM")
    clauses = [c for c in re.split(r"(?<=\.)\s+(?=[A-Z])", body) if _DOCUMENT.search(c)]
    document = topic = None
    if clauses:
        first = clauses[0]
        pages_at = _PAGES.search(first)
        head = first[: pages_at.start()] if pages_at and _DOCUMENT.search(first[: pages_at.start()]) else first
        doc = _DOCUMENT.search(head)
        document = re.sub(r"\s*\((?:ODG|ACOEM)\)", "", _clean(doc["doc"]))
        topic = _topic(head[doc.end() :])
    return {
        "mtus_based": not _NOT_MTUS.search(text) and "MTUS" in sources,
        "sources": sources,
        "document": document,
        "topic": topic,
        "pages": _pages(text),
    }


_TIMING = re.compile(r"\b(prospective|retrospective)\b", re.I)
_PREFIX = re.compile(
    r"^(?:(?:\d+\s+(?=prescription|request|refill))?"  # "(Prospective request for) 1 prescription of …": a count
    r"(?:prescriptions?|requests?|refills?|prospective|retrospective|purchase|rental)(?:\s+use)?\s+(?:of|for)?\s*"
    r"(?:(?:a|an)\s+)?)+",
    re.I,
)
_LEVEL = r"[CTLS]\d(?:\s*-\s*[CTLS]?\d)?"
"""A spinal level or a span of them: "L5", "C5-C6", "L4-5"."""
_COUNT = re.compile(
    rf"^(?:\d+\s+(?:(?:sessions?|visits?|treatments?)\s+of\s+)?(?=[a-z])(?!(?:mg|mcg|g|ml)\b|x\s*\d)"
    rf"|(?:(?:left|right|bilateral)\s+)?{_LEVEL}(?:\s*(?:,|and|&)\s*{_LEVEL})*\s+"
    r"|(?:cervical|thoracic|lumbar|lumbosacral)\s+spine\s+(?=\S))",
    re.I,
)
"""What comes before the treatment in a heading: a count ("12 sessions of", "1 TENS unit"), the levels
it treats ("Bilateral L4-L5 and L5-S1 …"), or the spine it images ("lumbar spine x-rays" is x-rays of
the lumbar spine). A region named as an adjective stays: "Lumbar support brace"."""
_NAME_END = re.compile(
    r",|\s(?:\d|#|\((?-i:(?![A-Z]{2,6}\)))|for\b|rental\b|purchase\b|to\s+the\b|x\s*\d|at\s+(?:(?:left|right|bilateral)\s+)?"
    + _LEVEL
    + rf"|under\b|of\s+the\b|(?:performed\s+)?(?:on|between|from|dated)\s+{DATE})",
    re.I,
)
"""Where the name ends: a comma, a number, a parenthesis that is not an abbreviation ("(EMG)" stays,
"(DOS 5/14/14)" goes), "rental"/"purchase", the purpose, region, levels, guidance ("under fluoroscopic
guidance") or dates."""
_STRENGTH = re.compile(r"\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?\s*(?:mg|mcg|g|ml|meq|%)(?:\s*/\s*(?:ml|hr|g))?", re.I)
_REGION = re.compile(
    r"\b((?:left|right|bilateral)?\s*(?:shoulder|knee|wrist|hand|elbow|hip|ankle|foot|neck|low(?:er)?\s+back)s?"
    r"|(?:left|right|bilateral)?\s*(?:upper|lower)\s+extremit(?:y|ies))\b"
    r"|\b(?P<spine>cervical|thoracic|lumbar|lumbosacral)\b(?:\s+spine\b)?"
    r"|\b(?-i:(?P<level>[CTL])\d(?:\s*-\s*[CTLS]?\d)?)\b",
    re.I,
)
"""A body region, or the spine named by its adjective or its levels: "Cervical epidural …" and
"C5-C6 facet injection" treat the cervical spine."""
_SPINE = {"C": "cervical", "T": "thoracic", "L": "lumbar"}
CATEGORY_WORDS = [
    ("acupuncture", r"acupuncture"),
    ("chiropractic", r"chiropract|manipulat"),
    ("physical_therapy", r"physical\s+therapy|\bPT\b|physiotherapy|occupational\s+therapy|aquatic"),
    ("injection", r"injection|epidural|\bESI\b|block|trigger\s+point"),
    ("imaging", r"\bMRI?\b|\bCT\b|x-?ray|radiograph|arthrogram|ultrasound|scan\b"),
    ("diagnostic_test", r"\bEMG\b|\bNCV\b|nerve\s+conduction|drug\s+screen|urine|lab|test"),
    ("surgery", r"surgery|arthroscop|ectomy|plasty|fusion|repair|release"),
    (
        "durable_medical_equipment",
        r"brace|TENS|unit\b|stimulator|cane|walker|wheelchair|cushion|pillow|mattress|orthotic",
    ),
    ("psychological", r"psycholog|psychiatr|psychotherapy|cognitive|\bCBT\b|biofeedback"),
    ("consultation", r"consult|referral|evaluation|follow-?up\s+visit"),
]


def _category(name: str, request: str, medication: bool) -> str:
    """A drug is a medication; otherwise the category word nearest the end of the name, before any
    "with …" that adds to it, wins, as the head of an English noun phrase comes last ("Psychiatric
    consultation" is a consultation, "lumbar fusion surgery with bone stimulator" a surgery); a name
    with no category word is classed by the request."""
    if medication:
        return "medication"
    name = re.split(r"\s(?:with|including|plus)\s", name, maxsplit=1, flags=re.I)[0]
    last = {
        cat: max((m.start() for m in re.finditer(pattern, name, re.I)), default=-1) for cat, pattern in CATEGORY_WORDS
    }
    head = max(last, key=lambda cat: last[cat])
    if last[head] >= 0:
        return head
    return next((cat for cat, pattern in CATEGORY_WORDS if re.search(pattern, request, re.I)), "other")


_INGREDIENT = re.compile(r"([A-Za-z][\w-]*)\s+\d+(?:\.\d+)?\s*(?:%|mg|mcg|g)(?=\s*[,)]|\s+and\b)", re.I)


def _compound(request: str) -> str | None:
    """A compound's generic, its ingredients in order ("cream (Flurbiprofen 20%, Capsaicin 0.025%)" ->
    "flurbiprofen/capsaicin"): a request that lists two or more ingredients, each with its strength."""
    listed = re.search(r"\(([^()]*)\)", request)
    ingredients = _INGREDIENT.findall(listed[1] + ")") if listed else []
    return "/".join(i.lower() for i in ingredients) if len(ingredients) > 1 else None


def treatment(request: str) -> Treatment:
    """The countable parts of an item heading, by rule (see `_treatment`)."""
    return _valid(Treatment, _treatment(request))


def _treatment(request: str) -> dict[str, Any]:
    """The countable parts of an item heading, by rule. A compound of several ingredients has no
    one strength."""
    timing = _TIMING.search(request)
    compound = _compound(request)
    strength = None if compound else _STRENGTH.search(request)
    quantity = re.search(r"#\s*(\d+)", request)
    body = _COUNT.sub("", _PREFIX.sub("", request).strip(), count=1)
    cut = _NAME_END.search(body)
    name = _clean(body[: cut.start()] if cut else body) or _clean(body)
    name = re.sub(r"\s+(?:of|for|to|with|at|in|x)$", "", name, flags=re.I)  # "inpatient stay of 2 days"
    generic = compound or normalize.generic_name(request)
    region = _REGION.search(request)
    counted = (re.search(r"visit|session|week|times", request, re.I) and re.search(r"\d", request)) or (
        normalize.TIMES_BY_WEEKS.search(request) and not quantity
    )
    visits = normalize.parse_visits(request) if counted else None  # "sessions" with no number: none stated
    return {
        "category": _category(name, request, bool(generic or strength)),
        "name": name,
        "generic_name": generic,
        "strength": normalize.strength(strength.group()) if strength else None,
        "quantity": int(quantity[1]) if quantity else None,
        "refills": normalize.parse_refills(request)
        if re.search(r"refills?\s*(?:x|:)?\s*\d|\d\s*refills?", request, re.I)
        else None,
        "visits": visits,
        "body_region": _regions(request, region) if region else None,
        "timing": timing[1].lower() if timing else None,
    }


def _regions(request: str, first: re.Match[str]) -> str:
    """The region a request treats, as written where it names two ("right wrist and hand", "cervical
    and lumbar spine", "lumbar spine and left hip"), else as `_region` names one."""
    joined = re.match(r"\s*(?:,|and|&)\s+(?:the\s+)?", request[first.end() :])
    second = _REGION.match(request, first.end() + joined.end()) if joined else None
    if second is None or second["level"] or not (first[1] or first["spine"]):
        return _region(first)
    return " ".join(request[first.start() : second.end()].lower().split())


def _region(match: re.Match[str]) -> str:
    if match["spine"] or match["level"]:
        return f"{(match['spine'] or _SPINE[match['level']]).lower()} spine"
    return " ".join(match[1].lower().split())


_AND_FIRST = re.compile(r"^\s*(?:and|&)\s+", re.I)
"""The "and" before a list's last entry after a comma ("a, b, and c")."""


def _split_list(text: str) -> list[str]:
    """'a, b and c' / 'a; b; c' -> ['a', 'b', 'c'], keeping 'Physical Medicine and Rehabilitation'."""
    text = _clean(text)
    if not text:
        return []
    parts = re.split(r"\s*;\s*", text) if ";" in text else re.split(r"\s*,\s*", text)
    out: list[str] = []
    for part in parts:
        if part.lower() in _SPECIALTY_AND:
            out.append(part)
            continue
        out += [p for p in re.split(r"\s+and\s+", _AND_FIRST.sub("", part)) if p]
    return [_clean(p) for p in out if _clean(p)]


_QUALIFIER_WORD = (
    r"(?:chronic|acute|subacute|mild|moderate|severe|recurrent|intractable|single\s+episode|unspecified"
    r"|not\s+otherwise\s+specified|NOS|(?:initial|subsequent)\s+encounter|sequela|left|right|bilateral"
    r"|(?:in\s+)?(?:partial|full)\s+remission)"
)
_QUALIFIER = re.compile(
    rf"{_QUALIFIER_WORD}(?:\s+(?:and\s+)?{_QUALIFIER_WORD})*|(?:with|without|secondary\s+to)\b.*", re.I
)
"""A comma piece that qualifies the diagnosis before it rather than naming one of its own:
"posttraumatic stress disorder, chronic", "depressive disorder, not otherwise specified",
"major depressive disorder, single episode, moderate", "spondylosis, without myelopathy".
A piece with a diagnosis noun of its own ("chronic pain syndrome") is a new diagnosis."""
_NO_HEAD = re.compile(rf"(?:(?:left|right|bilateral)\s+)?{_LEVEL}(?:\s*,\s*{_LEVEL})*", re.I)
"""The part before an "and" that is only laterality and spinal levels: "left L5 and S1 radiculopathy"
is one diagnosis at two levels, not "left L5" and "S1 radiculopathy"."""


def _diagnoses(text: str) -> list[str]:
    """A diagnosis list -> one phrase each. Entries are split by ";" (then commas belong to the
    entries) or else by ","; a comma piece that is only a qualifier (`_QUALIFIER`) joins the entry
    before it. An "and" splits an entry in two unless the words before it name no diagnosis
    (`_NO_HEAD`), it is "both … and …", or it joins the short phrase after a "with"/"without"
    ("adjustment disorder with mixed anxiety and depressed mood")."""
    text = _clean(text)
    pieces = [_AND_FIRST.sub("", p) for p in re.split(r"\s*;\s*" if ";" in text else r"\s*,\s*", text)]
    entries: list[str] = []
    for piece in pieces:
        if entries and ";" not in text and _QUALIFIER.fullmatch(piece):
            entries[-1] += ", " + piece
        else:
            entries.append(piece)
    out: list[str] = []
    for entry in entries:
        parts = re.split(r"\s+and\s+", entry)
        out.append(parts[0])
        for part in parts[1:]:
            joined = (
                _NO_HEAD.fullmatch(out[-1])
                or _NO_HEAD.fullmatch(part)  # "disease at L4-L5 and L5-S1": one diagnosis at two levels
                or re.search(r"\bboth\b(?!.*\band\b)", out[-1], re.I)
                or re.search(r"\bwith(?:out)?\s+\w+(?:\s+\w+)?$", out[-1], re.I)  # "with mixed anxiety and …"
            )
            out[-1:] = [f"{out[-1]} and {part}"] if joined else [out[-1], part]
    return [_clean(d) for d in out if _clean(d)]


_FIELD_LINE = re.compile(r"^\s*[A-Z][\w()/' -]{2,40}:")


def _line(text: str, label: str) -> str | None:
    """The value after "label:", with the lines a list in it wrapped onto: a line after a value
    that ends in "," or "and", or a line of a few words; never a "Label:" line or a sentence."""
    m = re.search(rf"^[ \t]*{label}[ \t]*:[ \t]*(.+?)[ \t]*$", text, re.M | re.I)
    if not m:
        return None
    value = m[1]
    for line in (line.strip() for line in text[m.end() :].splitlines() if line.strip()):
        open_list = re.search(r"(?:,|\band|&|/)$", value) or len(line.split()) <= 3
        heading = line.isupper()  # "CLINICAL CASE SUMMARY": the next section, not the list wrapping
        if not open_list or heading or _FIELD_LINE.match(line) or re.search(r"[.;:]$", value) or len(value) > 200:
            break
        value += " " + line
    return value


def _is_state(text: str) -> bool:
    try:
        return bool(normalize.state_codes(_split_list(text)))
    except ValueError:
        return False


def reviewer(text: str) -> Reviewer:
    """The reviewer's credentials by rule (see `_reviewer`)."""
    return _valid(Reviewer, _reviewer(text))


_BOARD = phrase("Board Certified in")
_AND_LICENSED = phrase("and is licensed")


def _reviewer(text: str) -> dict[str, Any]:
    """Credentials in prose ("Board Certified in …") or as lines ("Certification(s)/Specialty:")."""
    flat = " ".join(text.split())
    spec = re.search(rf"{_BOARD}\s*(.+?)(?:,\s*{phrase('has a subspecialty')}|\s{_AND_LICENSED}|\.)", flat, re.I)
    sub = re.search(rf"{phrase('subspecialty in')}\s*(.+?)(?:\s{_AND_LICENSED}|\.|,)", flat, re.I)
    states = re.search(rf"{phrase('licensed to practice in')}\s*(.+?)\.", flat, re.I)
    licensed_in = re.search(rf"\bis\s+{phrase('licensed in')}\s+(.+?)(?:,|\.|\s+and\s+(?:is|has)\b)", flat, re.I)
    if licensed_in and _is_state(licensed_in[1]):  # "licensed in California" is where, not what
        states = states or licensed_in
        licensed_in = None
    spec_text = spec[1] if spec else _line(text, r"Certification\(?s?\)?\s*/\s*Specialt(?:y|ies)")
    spec_text = spec_text or (licensed_in[1] if licensed_in else None)
    sub_text = sub[1] if sub else _line(text, r"Sub-?specialt(?:y|ies)")
    state_text = states[1] if states else _line(text, r"State\(?s?\)?\s+of\s+Licensure")
    specialties = []
    if spec_text:
        for known in _SPECIALTY_AND:  # protect "X and Y" names from the list split
            spec_text = re.sub(known, known.title().replace(" And ", " & "), spec_text, flags=re.I)
        specialties = [s.replace(" & ", " and ") for s in _split_list(spec_text)]
    try:
        codes = normalize.state_codes(_split_list(state_text)) if state_text else []
    except ValueError:
        codes = []
    return {
        "specialties": specialties,
        "subspecialties": _split_list(sub_text) if sub_text else [],
        "licensed_states": codes,
    }


_MECHANISM = re.compile(
    r"mechanism of injury (?:was |is |occurred )?(?:(?:described|reported|documented|noted) as )?"
    r"(?P<how>.+?)\.(?:\s|$)",
    re.I,
)
"""The letter's own "The mechanism of injury was (described as) …" sentence."""
_HOW_INJURED = re.compile(
    rf"(?:\binjur(?:y|ies|ed)\b(?!\s+(?:worker|employee|party|patient|person|individual|claimant))|\bhurt\b"
    rf"|\bdeveloped\b[^.]{{0,60}}?\bon\s+{DATE})(?:{DATE}|[^.]){{0,80}}?\b(?P<how>(?:when|while)\b.+?)\.(?:\s|$)",
    re.I,
)
"""How the injury happened, told in the sentence that tells of it: from "when"/"while" to the end of
the sentence ("was injured on 1/2/2010 when she slipped …", "The injury occurred when he fell …",
"injuries reportedly sustained while lifting …", "developed shoulder pain on 9/17/2012 while lifting …").
"The injured worker" is not the injury, and "developed" counts only with the date it began (not
"developed dyspepsia while taking ibuprofen"): a "when"/"while" about something else is no mechanism."""


_SEX = {"male": "male", "man": "male", "gentleman": "male", "female": "female", "woman": "female", "lady": "female"}


_DIAGNOSES = phrase("diagnoses")


def patient(summary: str, header: dict[str, Span] | None = None) -> Patient:
    """The injured worker by rule, from the case summary (see `_patient`)."""
    return _valid(Patient, _patient(summary, header))


def _patient(summary: str, header: dict[str, Span] | None = None) -> dict[str, Any]:
    """Age, sex, date and mechanism of injury and diagnoses, each as the summary writes it."""
    flat = " ".join(summary.split())
    age = re.search(rf"(\d{{1,3}})[\s-]*(?:{phrase('year')}|yr)s?[\s-]*{phrase('old')}", flat, re.I)
    sex = re.search(rf"\b({'|'.join(phrase(word) for word in _SEX)})\b", flat, re.I)  # pronouns alone: unknown
    doi = re.search(rf"(?:injur(?:y|ed)|injury dated|injury on)\D{{0,25}}?({DATE})", flat) or re.search(
        rf"({DATE})\s+date of injury", flat
    )
    header_doi = (header or {}).get("Date of Injury")
    mech = _MECHANISM.search(flat) or _HOW_INJURED.search(flat)
    mechanism = normalize.none_if_unknown(_clean(mech["how"])) if mech else None
    diagnoses: list[str] = []
    end = r"\.(?:\s|$|(?=[A-Z]))"  # letters often lose the space after a full stop
    diagnoses_are = rf"{_DIAGNOSES}\s*(?:are|were|include|included|have included|consist of|of)"
    patterns = (
        rf"{diagnoses_are} (.+?){end}",
        rf"associated {_DIAGNOSES} of (.+?){end}",
        rf"{phrase('Diagnostic impression')}: (.+?){end}",
        rf"\b{phrase('Diagnos')}(?:es|is)\s*: (.+?){end}",
    )
    for pattern in patterns:
        for m in re.finditer(pattern, flat, re.I):
            diagnoses += [d for d in _diagnoses(m[1]) if d not in diagnoses]
    return {
        "age": int(age[1]) if age else None,
        "sex": next((v for k, v in _SEX.items() if re.fullmatch(phrase(k), sex[1], re.I)), None) if sex else None,
        "date_of_injury": header_doi.value if header_doi else (doi[1] if doi else None),
        "mechanism_of_injury": mechanism,
        "diagnoses": diagnoses[:12],
    }


_UR = r"(?:\bUR\b|\butilization\s+review\b)"
_UR_DENIAL = re.compile(
    rf"{_UR}[^.]{{0,120}}?\b(?:den(?:ied|ial)|non-?certif\w*|not\s+certif\w*|modif\w*|determination|decision|"
    rf"report|review\s+dated|dated|rendered)|\b(?:den(?:ied|ial)|non-?certif\w*|not\s+certif\w*)[^.]{{0,80}}?{_UR}",
    re.I,
)
"""A sentence about the utilization review's decision, however worded: "Utilization Review denied the
request on 4/2/2014", "the request was non-certified in utilization review dated 03/11/2014"."""


_UR_DATE_LABEL = re.compile(
    r"(?:UR|Utilization\s+Review)\s+(?:Denial\s+|Decision\s+|Determination\s+)?Date"
    r"|Date\s+of\s+(?:the\s+)?(?:UR|Utilization\s+Review)(?:\s+(?:Decision|Denial|Determination))?",
    re.I,
)
"""A header line that dates the UR decision: "UR Denial Date", "Date of UR Decision", "Utilization Review Date"."""


def ur_decision_date(summary: str, header: dict[str, Span] | None = None) -> str | None:
    """The UR decision's date: a header line, else the summary's words for it (the set phrases first,
    then any sentence about the UR decision that dates it)."""
    for label, value in (header or {}).items():
        if _UR_DATE_LABEL.fullmatch(label):
            return value.value
    flat = " ".join(summary.split())
    for pattern in (rf"(?:UR|Utilization Review)\s+(?:decision|determination|report)\s+(?:dated|of|on)\s+({DATE})",
                    rf"(?:UR|Utilization Review)\s+determination\s+was\s+rendered\s+on\s+({DATE})",
                    rf"On\s+({DATE}),?\s+(?:the\s+)?(?:UR|Utilization Review)\b"):  # fmt: skip
        m = re.search(pattern, flat, re.I)
        if m:
            return m[1]
    for sentence in re.split(r"(?<=[a-z\d)][.;])\s+(?=[A-Z])", flat):
        said = _UR_DENIAL.search(sentence)
        dates = [
            m for m in re.finditer(DATE, sentence) if not re.search(r"injur\w*\W+(?:\w+\W+)?$", sentence[: m.start()])
        ]
        if said and dates:  # the date nearest after the words, else the last before them
            return next((m.group() for m in dates if m.start() >= said.start()), dates[-1].group())
    return None


_DECISION_DATE = re.compile(
    rf"(?:\bDecision\s+Date|\bDated|\bDate\s+of\s+(?:this\s+|the\s+)?(?:determination|decision))[ \t]*:[ \t]*"
    rf"(?P<date>{DATE})",
    re.I,
)
"""The date the determination was issued: "Decision Date: 07/14/2015", a 2013 notice's "Dated:
11/18/2013". Never "Date of UR Decision" or "UR Denial Date" (the UR decision's date)."""


def header(text: str) -> Header:
    """The letter's own header fields by rule (see `_header`)."""
    return _valid(Header, _header(text))


def _header(text: str) -> dict[str, Any]:
    """Case number and decision date, from anywhere in the letter (headers repeat on every page)."""
    number, issued = CASE_NUMBER.search(text), _DECISION_DATE.search(text)
    return {
        "case_number": number["number"].upper() if number else None,
        "decision_date": issued["date"] if issued else None,
    }


def record(layout: Layout) -> Determination:
    """A whole record by rule; impossible values are left empty and listed in `rejected`."""
    text = layout.text
    credentials = layout.sections.get("credentials")
    summary = layout.sections.get("summary")
    summary_text = text[summary.start : summary.end] if summary else ""
    return salvage.determination({
        "reviewer": _reviewer(text[credentials.start : credentials.end] if credentials else ""),
        "patient": _patient(summary_text, layout.header),
        "ur_decision_date": ur_decision_date(summary_text, layout.header),
        **_header(text),
        "items": [
            {
                "request": item.request.value,
                "decision": item.verdict,
                "treatment": _treatment(item.request.value),
                "claims_administrator_guideline": _citation(item.claims_administrator_guideline) or _no_citation(),
                "reviewer_guideline": _citation(item.reviewer_guideline) or _no_citation(),
                "rationale": item.rationale.value if item.rationale else "",
            }
            for item in layout.items
        ],
    })  # fmt: skip


def _no_citation() -> dict[str, Any]:
    return {"mtus_based": False, "sources": [], "document": None, "topic": None, "pages": []}
