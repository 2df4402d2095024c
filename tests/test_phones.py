"""One phone normaliser: a number DQ044 rejects is never compared by SY104, and one it accepts is."""

from __future__ import annotations

import pandas as pd
from conftest import check_tables, household, rows
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin_audit.facts.phones import phone_matches, phone_numbers
from fupin_audit.rules.dq_members import bad_phones
from fupin_audit.rules.siyan import _phones

SPELLINGS = [
    ("13912345678", True),
    ("139-1234-5678", True),
    ("139 1234 5678", True),
    ("+8613912345678", True),  # once accepted by SY104 only
    ("+86 139 1234 5678", True),
    ("0086-139-1234-5678", True),
    ("8613912345678", True),
    ("１３９１２３４５６７８", True),  # full-width digits
    ("(139)12345678", True),
    ("0556-1234567", False),  # a landline: once compared by SY104 while DQ044 rejected it
    ("05561234567", False),
    ("12912345678", False),
    ("1391234567", False),
    ("139123456789", False),
    ("+85212345678", False),
    ("123", False),
]


def test_dq044_and_sy104_agree_on_every_spelling(tmp_path):
    """Each spelling is written on two households: SY104 flags the pair exactly when DQ044 does not."""
    households = []
    for i, (spelling, _) in enumerate(SPELLINGS):
        households += [household(f"A{i}", 户联系电话=spelling), household(f"B{i}", 户联系电话=spelling)]
    findings = check_tables(tmp_path, ["DQ044", "SY104"], households=households)
    valid_rows = [r for i, (_, ok) in enumerate(SPELLINGS) if ok for r in (2 * i + 2, 2 * i + 3)]
    invalid_rows = [r for i, (_, ok) in enumerate(SPELLINGS) if not ok for r in (2 * i + 2, 2 * i + 3)]
    assert rows(findings, "DQ044") == invalid_rows
    # every valid spelling is the same number: one group of all valid households
    assert rows(findings, "SY104") == valid_rows
    sy104 = findings[findings["rule"] == "SY104"]
    assert set(sy104["message"].str.slice(0, 22)) == {"户联系电话 13912345678 被 18"}


def test_landline_and_country_code_examples_from_the_issue():
    numbers = phone_numbers(pd.Series(["0556-1234567", "+8613912345678"]))
    assert list(numbers) == ["05561234567", "13912345678"]
    assert list(phone_matches(numbers)) == [False, True]


phone_text = st.text(alphabet="0123456789１３８ +-()（）—86", max_size=18) | st.sampled_from(
    [s for s, _ in SPELLINGS]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(phone_text | st.none(), min_size=1, max_size=8))
def test_what_dq044_rejects_sy104_never_compares(values):
    series = pd.Series(values, dtype=object)
    numbers = phone_numbers(series)
    rejected = bad_phones(numbers)
    compared = _phones(numbers).notna().to_numpy()
    written = numbers.notna().to_numpy()
    assert not (rejected & compared).any()
    assert ((rejected | compared) == written).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(phone_text | st.none(), min_size=1, max_size=8))
def test_the_default_pattern_is_judged_as_arrow_judges_it(values):
    """phone_matches with the default pattern reads the normal forms' bytes: what arrow's
    ^1[3-9][0-9]{9}$ matches (null: no)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from fupin_audit.facts.phones import _ASCII_MOBILE, MOBILE, phone_matches

    numbers = phone_numbers(pd.Series(values, dtype=object))
    array = pa.array(numbers.array, type=pa.large_string(), from_pandas=True)
    expected = pc.fill_null(pc.match_substring_regex(array, _ASCII_MOBILE), False).to_numpy(
        zero_copy_only=False
    )
    assert phone_matches(numbers, MOBILE).tolist() == expected.tolist()
