from conftest import check_tables, household, make_id, member


def test_valid_household_and_member_give_no_field_findings(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ0", "DQ01"],
        households=[household()],
        members=[member(), member(姓名="李秀英", 性别="女", 与户主关系="配偶", 证件号码=make_id(seq=222))],
    )
    assert findings.empty, findings[["rule", "message"]].to_string()


def test_the_same_household_with_a_bad_check_digit_is_flagged(tmp_path):
    """The positive counterpart: one planted defect in the same records, found by its rule alone."""
    spouse_id = make_id(seq=222)
    broken = spouse_id[:-1] + ("0" if spouse_id[-1] != "0" else "1")
    findings = check_tables(
        tmp_path,
        ["DQ0", "DQ01"],
        households=[household()],
        members=[member(), member(姓名="李秀英", 性别="女", 与户主关系="配偶", 证件号码=broken)],
    )
    assert findings[["rule", "table", "row"]].values.tolist() == [["DQ011", "members", 3]]
