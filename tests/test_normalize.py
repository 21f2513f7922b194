from datetime import date

import pytest

from imr_llm import normalize


@pytest.mark.parametrize(
    ("text", "pages"),
    [
        ("41-42 and 64", [41, 42, 64]),
        ("74-96", list(range(74, 97))),
        ("41, 63", [41, 63]),
        ("1", [1]),
        ("63 to 66", [63, 64, 65, 66]),
        ("", []),
        ([64, "41-42"], [41, 42, 64]),
        ([63, 41, 63], [41, 63]),
    ],
)
def test_pages_expand_sort_and_dedupe(text, pages):
    assert normalize.parse_pages(text) == pages


@pytest.mark.parametrize("bad", ["96-74", "1-9999", "0", [True]])
def test_pages_reject_what_is_not_a_page_list(bad):
    with pytest.raises(ValueError):
        normalize.parse_pages(bad)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("6/7/12", date(2012, 6, 7)),
        ("August 4, 2011", date(2011, 8, 4)),
        ("06/08/2000", date(2000, 6, 8)),
        ("2014-04-28", date(2014, 4, 28)),
        ("not documented", None),
        ("null", None),
    ],
)
def test_dates_in_the_ways_letters_write_them(text, day):
    assert normalize.parse_date(text) == day


def test_unparseable_date_says_what_to_write():
    with pytest.raises(ValueError, match="not a recognisable date"):
        normalize.parse_date("the day after the fall")


@pytest.mark.parametrize(
    ("text", "codes"),
    [("Texas and Florida", ["TX", "FL"]), ("California", ["CA"]), (["NY", "Maryland"], ["NY", "MD"])],
)
def test_state_names_become_codes(text, codes):
    assert normalize.state_codes(text) == codes


def test_unknown_state_is_an_error():
    with pytest.raises(ValueError, match="not a US state"):
        normalize.state_codes("Atlantis")


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (normalize.first_int, "#60", 60),
        (normalize.first_int, "60 tablets", 60),
        (normalize.first_int, None, None),
        (normalize.parse_refills, "refills x 3", 3),
        (normalize.parse_refills, "3 refills", 3),
        (normalize.parse_visits, "2 times a week for 4 weeks", 8),
        (normalize.parse_visits, "2 times a week for 3 weeks (6 visits)", 6),
        (normalize.parse_visits, "6 sessions", 6),
        (normalize.parse_visits, 8, 8),
        (normalize.parse_refills, "3", 3),  # seen from the 1.5B model: a bare number as a string
        (normalize.parse_visits, "6", 6),
        (normalize.parse_refills, "#60 refills x 3", 3),
    ],
)
def test_counts(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(
    ("name", "generic"),
    [
        ("Norco", "hydrocodone/acetaminophen"),
        ("Refill Flexeril", "cyclobenzaprine"),
        ("Fexmid 7.5mg", "cyclobenzaprine"),
        ("Ultram ER", "tramadol"),
        ("Cyclobenzaprine", "cyclobenzaprine"),
        ("Acupuncture", None),
    ],
)
def test_generic_names(name, generic):
    assert normalize.generic_name(name) == generic


@pytest.mark.parametrize(
    ("text", "value"),
    [("10/325mg", "10/325 mg"), ("0.4mg/ml", "0.4 mg/ml"), ("7.5 MG", "7.5 mg"), ("none", None)],
)
def test_strength_has_one_spelling(text, value):
    assert normalize.strength(text) == value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("(1) Prescription of Ultram ER 200mg #30", "Prescription of Ultram ER 200mg #30"),
        ("2. Norco  10/325mg", "Norco 10/325mg"),
        ("Refill Norco", "Refill Norco"),
    ],
)
def test_list_numbering_is_stripped(text, value):
    assert normalize.strip_numbering(text) == value
