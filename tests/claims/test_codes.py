"""The claims code lists: the ones the appendix states itself are the appendix's, code for code,
and each names the field it cites; the others name their decision."""

import re

import pytest

from songkhoe.claims import codes
from songkhoe.claims.codes import CODE_LISTS, CODE_SOURCES, code_problem
from songkhoe.claims.fields import field_tables

APPENDIX = "the QĐ 130/4750 appendix"

# How the appendix writes its codes: mostly `Mã "1": ...` (and 4750's `Bổ sung mã "8"`); GIOI_TINH
# as "(1: Nam; 2: Nữ; 3: ...)", MA_LYDO_CT as "Ghi mã 1 trong trường hợp ...", MA_KHUVUC as
# "(K1 hoặc K2 hoặc K3)".
QUOTED = r"[Mm]ã [\"“](\w+)[\"”]"
WRITTEN = {
    "GIOI_TINH": r"\b(\d): ",
    "MA_LYDO_CT": r"Ghi mã (\d) ",
    "MA_KHUVUC": r"\b(K\d)\b",
}
SAME_AS_XML1 = "Sử dụng thông tin tại trường"


def appendix_keys() -> list[tuple[str, str]]:
    return [k for k, source in CODE_SOURCES.items() if source.startswith(APPENDIX)]


def test_every_listed_field_is_a_field_of_its_table() -> None:
    tables = field_tables()
    assert [k for k in CODE_LISTS if k[1] not in tables[k[0]]] == []
    assert CODE_LISTS.keys() == CODE_SOURCES.keys()


@pytest.mark.parametrize("key", appendix_keys(), ids="/".join)
def test_an_appendix_list_has_the_codes_its_description_states(key: tuple[str, str]) -> None:
    table, field = key
    text = field_tables()[table][field].description
    if SAME_AS_XML1 in text:  # "Sử dụng thông tin tại trường ... trong Bảng 1"
        assert CODE_LISTS[key] is CODE_LISTS[("XML1", field)]
        return
    stated = set(re.findall(WRITTEN.get(field, QUOTED), text))
    assert set(CODE_LISTS[key]) == stated


@pytest.mark.parametrize("key", appendix_keys(), ids="/".join)
def test_an_appendix_list_cites_the_field_it_was_read_in(key: tuple[str, str]) -> None:
    """ "XML1 #40" is table XML1, field number 40, and that field carries the list."""
    cited = re.fullmatch(rf"{APPENDIX}, (XML\d+) #(\d+)", CODE_SOURCES[key])
    assert cited is not None
    table, order = cited.group(1), int(cited.group(2))
    spec = next(s for s in field_tables()[table].values() if s.order == order)
    assert spec.name in (key[1], "GIOI_TINH")  # XML9 #18 is GIOI_TINH_CON


def test_4750_adds_outcome_8_and_cost_group_19_for_services_only() -> None:
    assert CODE_LISTS[("XML1", "KET_QUA_DTRI")][codes.DIED_OUTSIDE] == "Tử vong ngoại viện"
    assert "Ghi mã 19" in field_tables()["XML3"]["MA_NHOM"].description
    assert codes.GROUP_OTHER_SERVICES in CODE_LISTS[("XML3", "MA_NHOM")]
    assert codes.GROUP_OTHER_SERVICES not in CODE_LISTS[("XML2", "MA_NHOM")]


def test_the_named_constants_are_the_codes_of_their_meanings() -> None:
    assert CODE_LISTS[("XML1", "MA_LOAI_KCB")][codes.OUTPATIENT_VISIT] == "Khám bệnh"
    assert CODE_LISTS[("XML1", "MA_LOAI_RV")][codes.REFERRED_PROFESSIONAL] == (
        "Chuyển tuyến theo yêu cầu chuyên môn"
    )
    assert CODE_LISTS[("XML1", "MA_DOITUONG_KCB")][codes.EMERGENCY] == "Cấp cứu"
    assert CODE_LISTS[("XML2", "MA_NHOM")][codes.GROUP_DRUGS] == "Thuốc"
    assert CODE_LISTS[("XML3", "MA_NHOM")][codes.GROUP_EXAMINATION] == "Khám bệnh"


def test_the_delegated_lists_have_the_codes_of_their_decisions() -> None:
    """QĐ 1804 Phụ lục 01: 01 … 16; QĐ 3276 Phụ lục 1: 27 rows (its STT skips 22); QĐ 5937
    Phụ lục 3: 1-4, 7, 8, 10, 12-18; Phụ lục 4: 1-8."""
    assert list(CODE_LISTS[("XML1", "MA_LOAI_KCB")]) == [f"{n:02d}" for n in range(1, 17)]
    arrivals = CODE_LISTS[("CHECKIN", "MA_DOITUONG_KCB")]
    assert len(arrivals) == 27
    assert {"1.1", "1.7", "1.11", "1.18", "2", "3.1", "3.6", "7.4", "10"} <= arrivals.keys()
    assert set(CODE_LISTS[("XML2", "MA_NHOM")]) == {str(n) for n in (1, 2, 3, 4, 7, 8, 10)} | {
        str(n) for n in range(12, 19)
    }
    assert list(CODE_LISTS[("XML1", "MA_TAI_NAN")]) == [str(n) for n in range(1, 9)]


def test_an_unknown_code_names_its_list() -> None:
    assert code_problem("XML1", "KET_QUA_DTRI", "9") == (
        "'9' is not a code of the QĐ 130/4750 appendix, XML1 #40"
    )
    assert code_problem("XML1", "MA_LOAI_KCB", "1") == (
        "'1' is not a code of QĐ 1804/QĐ-BYT Phụ lục 01"
    )
    assert code_problem("XML2", "MA_NHOM", "19") == (
        "'19' is not a code of QĐ 5937/QĐ-BYT Phụ lục 3"
    )


def test_a_listed_code_or_an_uncoded_field_is_no_problem() -> None:
    assert code_problem("XML3", "MA_NHOM", "19") is None
    assert code_problem("XML1", "MA_DOITUONG_KCB", "3.6") is None
    assert code_problem("XML1", "HO_TEN", "anything") is None


def test_a_number_field_reads_its_code_as_a_number() -> None:
    """MA_NHOM is Số (XML2 #6): "04" is the number 4, drugs; MA_LOAI_KCB is a string since
    QĐ 4750 and its codes are written "01" … "16", so "1" is not one."""
    assert code_problem("XML2", "MA_NHOM", "04") is None
    assert code_problem("XML2", "MA_NHOM", "05") == "'05' is not a code of QĐ 5937/QĐ-BYT Phụ lục 3"
    assert code_problem("XML1", "MA_DOITUONG_KCB", "02") == (
        "'02' is not a code of QĐ 3276/QĐ-BYT Phụ lục 1"
    )
