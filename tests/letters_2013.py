"""A 2013-layout letter ("Notice of Independent Medical Review Determination") written for the
tests: three items, mixed decisions, each guideline convention the 2013 letters use."""

from __future__ import annotations

LETTER = """Notice of Independent Medical Review Determination

Dated: 12/20/2013

IMR Case Number: CM13-0012345
Date of UR Decision: 7/18/2013
Date of Injury: 6/3/2011

Dear Applicant:

MAXIMUS Federal Services, Inc. has completed the Independent Medical Review (IMR) of the
disputed medical treatment in your case.

Final Determination: OVERTURN IN PART

This means we decided that some, but not all, of the disputed items/services are medically
necessary and appropriate. A detailed explanation of the decision for each of the disputed
items/services is provided later in this letter.

1) MAXIMUS Federal Services, Inc. has determined the request for Retrospective request for
Lidoderm 5% patches #30 (DOS 5/14/14) is not medically necessary and appropriate.
2) MAXIMUS Federal Services, Inc. has determined the request for 1 prescription of Omeprazole
20mg #60 between 5/29/2014 and 7/13/2014 is medically necessary and appropriate.
3) MAXIMUS Federal Services, Inc. has determined the request for physical therapy 2 times a
week for 6 weeks for the lumbar spine is not medically necessary and appropriate.

This decision is final and binding on all parties.

HOW THE IMR FINAL DETERMINATION WAS MADE
MAXIMUS Federal Services sent the complete case file to an expert reviewer. He/she has no
affiliation with the employer, employee, providers or the claims administrator.

Medical Qualifications of the Expert Reviewer:
The expert reviewer is Licensed in Psychology and is licensed to practice in California.

Expert Reviewer Case Summary:
The expert Reviewer developed the following case summary based on a review of the case file,
including all medical records:
The applicant is a represented warehouse employee who has filed a claim for chronic low back
pain reportedly associated with an industrial injury of June 3, 2011. Thus far, the applicant
has been treated with analgesic medications, topical agents, and physical therapy. In a
utilization review report dated July 18, 2013, the claims administrator denied the requests.
On May 14, 2014, she reported persistent low back pain and dyspepsia.

Documents Reviewed for Determination:
Application of Independent Medical Review
Utilization Review Determination
Medical records from the treating physician

1) Regarding the request for Retrospective request for Lidoderm 5% patches #30 (DOS 5/14/14):
Medical Treatment Guideline(s) Used by the Claims Administrator:
The Claims Administrator based its decision on the Chronic Pain Medical Treatment Guidelines,
(2009), Lidoderm, page 56-57, which are part of the MTUS.
Medical Treatment Guideline(s) Used by the Expert Reviewer:
The Expert Reviewer found the guideline used by the Claims Administrator relevant and
appropriate for the employee's clinical circumstance.
Rationale for the Decision:
Topical lidocaine is indicated for localized peripheral pain after a trial of first-line
therapy. There is no evidence of a failed trial of first-line agents. The request is not
medically necessary and appropriate.

2) Regarding the request for 1 prescription of Omeprazole 20mg #60 between 5/29/2014 and
7/13/2014:
Medical Treatment Guideline(s) Used by the Claims Administrator:
The Claims Administrator did not cite any evidence-based criteria for its decision.
Medical Treatment Guideline(s) Used by the Expert Reviewer:
The Expert Reviewer based his/her decision on the Chronic Pain Medical Treatment Guidelines,
(2009), NSAIDs, GI symptoms & cardiovascular risk, page 68-69, which are part of the MTUS.
Rationale for the Decision:
Proton pump inhibitors are indicated in the treatment of NSAID-induced dyspepsia, which is
documented here. The request is medically necessary and appropriate.

3) Regarding the request for physical therapy 2 times a week for 6 weeks for the lumbar spine:
Medical Treatment Guideline(s) Used by the Claims Administrator:
MTUS: ACOEM Practice Guidelines, 2nd Edition (2004), Chapter 12, Low Back Complaints, Table
12-8, page 308. Non-MTUS: Official Disability Guidelines (ODG), Low Back Chapter, page 12.
Medical Treatment Guideline(s) Used by the Expert Reviewer:
The Expert Reviewer based his/her decision on the Official Disability Guidelines (ODG), Low
Back Chapter, Physical Therapy, which is not part of the MTUS.
Rationale for the Decision:
The applicant has had earlier physical therapy without documented functional improvement. The
request is not medically necessary and appropriate.
"""


def _citation(mtus_based=False, sources=(), document=None, topic=None, pages=(), guideline=None):
    return {
        "mtus_based": mtus_based,
        "sources": list(sources),
        "document": document,
        "topic": topic,
        "pages": list(pages),
        "guideline": guideline,
    }


def _treatment(
    category, name, generic=None, strength=None, quantity=None, visits=None, region=None, timing=None, drug_class=None
):
    return {
        "category": category,
        "name": name,
        "generic_name": generic,
        "strength": strength,
        "quantity": quantity,
        "refills": None,
        "visits": visits,
        "body_region": region,
        "timing": timing,
        "drug_class": drug_class,
    }


CHRONIC_PAIN = "Chronic Pain Medical Treatment Guidelines"
EXPECTED = {
    "reviewer": {"specialties": ["Psychology"], "subspecialties": [], "licensed_states": ["CA"]},
    "patient": {
        "age": None,
        "sex": None,
        "date_of_injury": "2011-06-03",
        "mechanism_of_injury": None,
        "diagnoses": [],
    },
    "ur_decision_date": "2013-07-18",
    "case_number": "CM13-0012345",
    "decision_date": "2013-12-20",
    "items": [
        {
            "request": "Retrospective request for Lidoderm 5% patches #30 (DOS 5/14/14)",
            "decision": "upheld",
            "treatment": _treatment(
                "medication",
                "Lidoderm",
                "lidocaine",
                "5%",
                30,
                timing="retrospective",
                drug_class="topical analgesic or compound",
            ),
            "claims_administrator_guideline": _citation(
                True, ["MTUS"], CHRONIC_PAIN, "Lidoderm", [56, 57], "MTUS Chronic Pain Medical Treatment Guidelines"
            ),
            "reviewer_guideline": _citation(),
            "rationale": "Topical lidocaine is indicated for localized peripheral pain after a trial of first-line "
            "therapy. There is no evidence of a failed trial of first-line agents. The request is not medically "
            "necessary and appropriate.",
        },
        {
            "request": "1 prescription of Omeprazole 20mg #60 between 5/29/2014 and 7/13/2014",
            "decision": "overturned",
            "treatment": _treatment(
                "medication", "Omeprazole", "omeprazole", "20 mg", 60, drug_class="proton-pump inhibitor"
            ),
            "claims_administrator_guideline": _citation(),
            "reviewer_guideline": _citation(
                True,
                ["MTUS"],
                CHRONIC_PAIN,
                "NSAIDs, GI symptoms & cardiovascular risk",
                [68, 69],
                "MTUS Chronic Pain Medical Treatment Guidelines",
            ),
            "rationale": "Proton pump inhibitors are indicated in the treatment of NSAID-induced dyspepsia, which "
            "is documented here. The request is medically necessary and appropriate.",
        },
        {
            "request": "physical therapy 2 times a week for 6 weeks for the lumbar spine",
            "decision": "upheld",
            "treatment": _treatment("physical_therapy", "physical therapy", visits=12, region="lumbar spine"),
            "claims_administrator_guideline": _citation(
                True,
                ["MTUS", "ODG", "ACOEM"],
                "ACOEM Practice Guidelines",
                "Low Back Complaints",
                [12, 308],
                "MTUS ACOEM ch. 12 Low Back Complaints",
            ),
            "reviewer_guideline": _citation(
                False,
                ["ODG"],
                "Official Disability Guidelines",
                "Low Back Chapter, Physical Therapy",
                guideline="ODG Low Back",
            ),
            "rationale": "The applicant has had earlier physical therapy without documented functional improvement. "
            "The request is not medically necessary and appropriate.",
        },
    ],
}
