from conftest import check_tables, household, make_id, member


def test_valid_household_and_member_give_no_field_findings(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ0", "DQ01"],
        households=[household()],
        members=[member(), member(姓名="李秀英", 性别="女", 与户主关系="配偶", 证件号码=make_id(seq=222))],
    )
    assert findings.empty, findings[["rule", "message"]].to_string()
