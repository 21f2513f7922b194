"""The guideline document a citation names, as one value of a closed set, beside the letter's words.

Letters name one document many ways ("MTUS Chronic Pain Treatment Guidelines", "Chronic Pain
Medical Treatment Guidelines"); counting by the verbatim `document` splits it. `guideline(...)`
maps a citation (document, sources, topic, mtus_based) to a `Guideline`: the documents the
MTUS adopts (8 CCR 9792.23-9792.24.3) — the Chronic Pain, Acupuncture and Postsurgical Medical
Treatment Guidelines, and the ACOEM Practice Guidelines (2nd edition, 2004) by chapter — and
the Official Disability Guidelines (ODG) by chapter, else OTHER. It is a derived value
(`GuidelineCitation.guideline`), never read from a letter or asked of a model.

Rules, in order:
- No document and no source named: None (the line cites nothing).
- The document names ODG ("Official Disability Guidelines", "ODG") -> ODG; then acupuncture,
  post-surgical, chronic pain -> those MTUS documents; "ACOEM" -> ACOEM (an ACOEM citation the
  letter says is not MTUS-based is OTHER); "MTUS" alone -> MTUS_UNSPECIFIED. Another document
  -> OTHER. With no document, the sources decide the same way (ODG, then ACOEM, then MTUS).
- ACOEM's chapter is "Chapter 12" or a body chapter's title ("Low Back Complaints") in the topic
  or document (chapters 1-5 by number only: their titles are common words);
  ODG's is a chapter name followed by "Chapter" ("Knee & Leg Chapter") or at the start of the
  topic before a separator ("Pain - Naloxone"). Pages are not used: chapter page ranges differ
  between editions. No chapter found -> the document's "(chapter not stated)" value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum


class Guideline(str, Enum):
    MTUS_CHRONIC_PAIN = "MTUS Chronic Pain Medical Treatment Guidelines"
    MTUS_ACUPUNCTURE = "MTUS Acupuncture Medical Treatment Guidelines"
    MTUS_POSTSURGICAL = "MTUS Postsurgical Treatment Guidelines"
    MTUS_UNSPECIFIED = "MTUS (document not stated)"
    ACOEM_1 = "MTUS ACOEM ch. 1 Prevention"
    ACOEM_2 = "MTUS ACOEM ch. 2 General Approach to Initial Assessment and Documentation"
    ACOEM_3 = "MTUS ACOEM ch. 3 Initial Approaches to Treatment"
    ACOEM_4 = "MTUS ACOEM ch. 4 Work-Relatedness"
    ACOEM_5 = "MTUS ACOEM ch. 5 Cornerstones of Disability Prevention and Management"
    ACOEM_6 = "MTUS ACOEM ch. 6 Pain, Suffering, and the Restoration of Function"
    ACOEM_7 = "MTUS ACOEM ch. 7 Independent Medical Examinations and Consultations"
    ACOEM_8 = "MTUS ACOEM ch. 8 Neck and Upper Back Complaints"
    ACOEM_9 = "MTUS ACOEM ch. 9 Shoulder Complaints"
    ACOEM_10 = "MTUS ACOEM ch. 10 Elbow Disorders"
    ACOEM_11 = "MTUS ACOEM ch. 11 Forearm, Wrist, and Hand Complaints"
    ACOEM_12 = "MTUS ACOEM ch. 12 Low Back Complaints"
    ACOEM_13 = "MTUS ACOEM ch. 13 Knee Complaints"
    ACOEM_14 = "MTUS ACOEM ch. 14 Ankle and Foot Complaints"
    ACOEM_15 = "MTUS ACOEM ch. 15 Stress-Related Conditions"
    ACOEM_16 = "MTUS ACOEM ch. 16 Eye"
    ACOEM_UNSPECIFIED = "MTUS ACOEM (chapter not stated)"
    ODG_ANKLE_FOOT = "ODG Ankle & Foot"
    ODG_CARPAL_TUNNEL = "ODG Carpal Tunnel Syndrome"
    ODG_ELBOW = "ODG Elbow"
    ODG_EYE = "ODG Eye"
    ODG_WRIST_HAND = "ODG Forearm, Wrist & Hand"
    ODG_HEAD = "ODG Head"
    ODG_HERNIA = "ODG Hernia"
    ODG_HIP_PELVIS = "ODG Hip & Pelvis"
    ODG_KNEE_LEG = "ODG Knee & Leg"
    ODG_LOW_BACK = "ODG Low Back"
    ODG_MENTAL_STRESS = "ODG Mental Illness & Stress"
    ODG_NECK = "ODG Neck & Upper Back"
    ODG_PAIN = "ODG Pain"
    ODG_PULMONARY = "ODG Pulmonary"
    ODG_SHOULDER = "ODG Shoulder"
    ODG_TBI = "ODG Traumatic Brain Injury"
    ODG_UNSPECIFIED = "ODG (chapter not stated)"
    OTHER = "other"

    @property
    def family(self) -> str:
        """The document without its chapter: "MTUS ACOEM", "ODG", or the value itself."""
        for family in ("MTUS ACOEM", "ODG"):
            if self.value.startswith(family):
                return family
        return self.value


_ACOEM_TITLES: dict[Guideline, str] = {
    Guideline.ACOEM_8: r"neck",
    Guideline.ACOEM_9: r"shoulder",
    Guideline.ACOEM_10: r"elbow",
    Guideline.ACOEM_11: r"forearm|wrist|hand complaints",
    Guideline.ACOEM_12: r"low back",
    Guideline.ACOEM_13: r"knee",
    Guideline.ACOEM_14: r"ankle|foot",
    Guideline.ACOEM_15: r"stress",
    Guideline.ACOEM_16: r"\beye\b",
    Guideline.ACOEM_6: r"pain,? suffering|restoration of function",
    Guideline.ACOEM_7: r"independent medical exam",
}
_ODG_CHAPTERS: dict[Guideline, str] = {
    Guideline.ODG_ANKLE_FOOT: r"ankle\s*(?:&|and)\s*foot",
    Guideline.ODG_CARPAL_TUNNEL: r"carpal tunnel(?: syndrome)?",
    Guideline.ODG_ELBOW: r"elbow",
    Guideline.ODG_EYE: r"eye",
    Guideline.ODG_WRIST_HAND: r"(?:forearm,?\s*)?wrist\s*(?:&|and)\s*hand",
    Guideline.ODG_HEAD: r"head",
    Guideline.ODG_HERNIA: r"hernia",
    Guideline.ODG_HIP_PELVIS: r"hip\s*(?:&|and)\s*pelvis",
    Guideline.ODG_KNEE_LEG: r"knee(?:\s*(?:&|and)\s*leg)?",
    Guideline.ODG_LOW_BACK: r"low back(?:\s*-?\s*lumbar(?:\s*(?:&|and)\s*thoracic)?)?",
    Guideline.ODG_MENTAL_STRESS: r"mental illness\s*(?:&|and)\s*stress",
    Guideline.ODG_NECK: r"neck(?:\s*(?:&|and)\s*upper back)?",
    Guideline.ODG_PAIN: r"(?:chronic\s+)?pain(?:\s*\(chronic\))?",
    Guideline.ODG_PULMONARY: r"pulmonary",
    Guideline.ODG_SHOULDER: r"shoulder",
    Guideline.ODG_TBI: r"traumatic brain injury|tbi",
}
_CHAPTER_NUMBER = re.compile(r"\bchapter\s+(\d{1,2})\b", re.I)


def _acoem(text: str) -> Guideline:
    number = _CHAPTER_NUMBER.search(text)
    if number and f"ACOEM_{number[1]}" in Guideline.__members__:
        return Guideline[f"ACOEM_{number[1]}"]
    for chapter, pattern in _ACOEM_TITLES.items():
        if re.search(pattern, text, re.I):
            return chapter
    return Guideline.ACOEM_UNSPECIFIED


def _odg(document: str, topic: str) -> Guideline:
    for chapter, name in _ODG_CHAPTERS.items():
        named = rf"\b(?:{name})\s+chapter\b"
        if re.search(named, f"{document} {topic}", re.I) or re.match(rf"\s*(?:{name})\s*[-,:;]", topic, re.I):
            return chapter
    return Guideline.ODG_UNSPECIFIED


def _mtus_document(document: str) -> Guideline | None:
    lowered = document.lower()
    if "acupuncture" in lowered:
        return Guideline.MTUS_ACUPUNCTURE
    if re.search(r"post[- ]?surgical", lowered):
        return Guideline.MTUS_POSTSURGICAL
    if "chronic pain" in lowered:
        return Guideline.MTUS_CHRONIC_PAIN
    return None


def guideline(document: str | None, sources: Iterable[str], topic: str | None, mtus_based: bool) -> Guideline | None:
    """The closed-set document of one citation line (see the module's rules)."""
    named = {str(s).upper() for s in sources}
    doc, topic = document or "", topic or ""
    if not doc and not named:
        return None
    if re.search(r"official disability|\bODG\b", doc, re.I) or (not doc and "ODG" in named):
        return _odg(doc, topic)
    mtus = _mtus_document(doc)
    if mtus is not None:
        return mtus
    if re.search(r"acoem|american college of occupational", doc, re.I) or (not doc and "ACOEM" in named):
        return _acoem(f"{topic} {doc}") if mtus_based or "MTUS" in named else Guideline.OTHER
    if re.fullmatch(r"\s*(?:california\s+)?(?:the\s+)?MTUS\s*(?:guidelines?)?\s*", doc, re.I) or (
        not doc and "MTUS" in named
    ):
        return Guideline.MTUS_UNSPECIFIED
    return Guideline.OTHER
