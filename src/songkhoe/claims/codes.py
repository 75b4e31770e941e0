"""The code lists of the BHYT claims XML: for each coded field, code → Vietnamese meaning.

Two kinds of source, cited list by list:
- lists the appendix of QĐ 130/QĐ-BYT (as amended by QĐ 4750/QĐ-BYT, 29/12/2023) states in the
  field's own description (``data/qd4750_fields.csv``; tests/claims/test_codes.py compares them
  with the shipped table): KET_QUA_DTRI, MA_LOAI_RV, GIOI_TINH, PHAM_VI, MA_PTTT, MA_LYDO_CT,
  MA_KHUVUC, NGUON_CTRA, PP_VO_CAM;
- lists the appendix delegates to the "Bộ mã danh mục dùng chung" (QĐ 824/QĐ-BYT, 15/02/2023, and
  the decisions that replaced its appendices) or to QĐ 5937/QĐ-BYT (30/12/2021). These were NOT
  read in the decisions themselves (no copy is reachable from here): each is as transcribed in
  public HIS code, named at the list, where two or more independent transcriptions agree.

Which list is in force depends on the date, and this module keeps only the current one:
- MA_LOAI_KCB: Phụ lục 01 of QĐ 1804/QĐ-BYT (2026; 16 codes, in force by 01/08/2026 at the
  latest), which repeals Phụ lục 1 of QĐ 824. Its 01–10 are QĐ 824's (08 and 10 included, as
  the QĐ 824 lists of HIS vendors carry them); 11–16 are new, so a claim for a visit before
  August 2026 that uses them is not flagged here.
- MA_DOITUONG_KCB: Phụ lục 1 of QĐ 3276/QĐ-BYT (2025; 27 rows, in force 17/10/2025, with claims
  from 01/07/2025 resubmittable under it), which repeals Phụ lục 5 of QĐ 2010/QĐ-BYT (2025), the
  successor of QĐ 824's list. QĐ 824's own codes could not be verified: codes found only in the
  earlier lists are reported as unknown.
"""

CodeList = dict[str, str]

# MA_LOAI_KCB (CHECKIN #17, XML1 #55: "theo Bộ mã DMDC"). QĐ 1804/QĐ-BYT (2026) Phụ lục 01, as
# transcribed in public HIS code (an SQL seed citing xaydungchinhsach.chinhphu.vn, 2026-08-01, and
# a compendium of BHYT rules, rule BHYT-DATA-R14). XML8 #2 names only 02, 03 and 04 in its own
# description, but the other codes of inpatient-like care (06, 09) reach XML8 in vendors' code,
# so XML8 is checked against the whole list.
OUTPATIENT_VISIT = "01"
OUTPATIENT_TREATMENT = "02"
INPATIENT = "03"
DAY_TREATMENT = "04"
CHRONIC_OUTPATIENT_DRUGS = "05"
FACILITY_STAY = "06"
DRUGS_BY_APPOINTMENT = "07"
CHRONIC_OUTPATIENT_SERVICES = "08"
INPATIENT_UNDER_4_HOURS = "09"
OTHER_CARE = "10"
MOBILE_CARE = "11"
HOME_CARE = "12"
FAMILY_MEDICINE = "13"
TELEMEDICINE = "14"
PERIODIC_CHECKUP = "15"
SCREENING = "16"
CARE_KINDS: CodeList = {
    OUTPATIENT_VISIT: "Khám bệnh",
    OUTPATIENT_TREATMENT: "Điều trị ngoại trú",
    INPATIENT: "Điều trị nội trú",
    DAY_TREATMENT: "Điều trị ban ngày",
    CHRONIC_OUTPATIENT_DRUGS: "Điều trị ngoại trú các bệnh cần chữa trị dài ngày liên tục trong "
    "năm, có khám bệnh và lĩnh thuốc",
    FACILITY_STAY: "Lưu người bệnh tại phòng khám đa khoa, phòng khám đa khoa khu vực, nhà hộ "
    "sinh, trạm y tế xã, phường",
    DRUGS_BY_APPOINTMENT: "Nhận thuốc theo hẹn",
    CHRONIC_OUTPATIENT_SERVICES: "Điều trị ngoại trú bệnh cần chữa trị dài ngày, có khám bệnh, "
    "thực hiện dịch vụ kỹ thuật và/hoặc sử dụng thuốc",
    INPATIENT_UNDER_4_HOURS: "Điều trị nội trú dưới 04 giờ",
    OTHER_CARE: "Các trường hợp khác",
    MOBILE_CARE: "Khám bệnh, chữa bệnh lưu động",
    HOME_CARE: "Khám bệnh, chữa bệnh tại nhà",
    FAMILY_MEDICINE: "Khám bệnh, chữa bệnh y học gia đình",
    TELEMEDICINE: "Khám bệnh, chữa bệnh từ xa",
    PERIODIC_CHECKUP: "Khám sức khoẻ định kỳ",
    SCREENING: "Khám sàng lọc",
}

# MA_DOITUONG_KCB (CHECKIN #12, XML1 #30, XML14 #19: "theo Bộ mã DMDC"). QĐ 3276/QĐ-BYT (2025)
# Phụ lục 1, as transcribed in two public HIS codebases (a JSON of the appendix with each row's
# legal basis and benefit, and a PHP catalogue that agrees code by code). The appendix's notes:
# the code is chosen after the visit ends, and when several apply, the first in this order.
REGISTERED_FACILITY = "1.1"
PRIMARY_CARE_FACILITY = "1.2"
REFERRED_IN = "1.3"
FOLLOW_UP_APPOINTMENT = "1.5"
EMERGENCY = "2"
WITHDRAWN_CLAIM = "8"
NOT_INSURED = "9"
ARRIVAL_CATEGORIES: CodeList = {
    REGISTERED_FACILITY: "Đến KCB đúng cơ sở KCB nơi đăng ký KCB BHYT ban đầu (trừ mã 1.2)",
    PRIMARY_CARE_FACILITY: "Đi KCB tại cơ sở KCB cấp ban đầu (trạm y tế, y học gia đình, trạm "
    "y tế quân - dân y, trung tâm y tế có giấy phép phòng khám, y tế cơ quan...)",
    REFERRED_IN: "Đến KCB có phiếu chuyển cơ sở KCB (kể cả phiếu chuyển có giá trị 1 năm)",
    "1.4": "KCB khi thay đổi nơi lưu trú, nơi cư trú (Điều 4 Thông tư 01/2025/TT-BYT)",
    FOLLOW_UP_APPOINTMENT: "Đến KCB theo phiếu hẹn khám lại (Điều 11 Thông tư 01/2025/TT-BYT)",
    "1.6": "Người đã hiến bộ phận cơ thể phải điều trị ngay sau khi hiến",
    "1.7": "Trẻ sơ sinh phải điều trị ngay sau khi sinh ra",
    "1.11": "Tự đến KCB tại cơ sở KCB cấp ban đầu còn lại không thuộc mã 1.2",
    "1.12": "Tự đến KCB ngoại trú tại cơ sở cấp cơ bản dưới 50 điểm hoặc tạm xếp cấp cơ bản",
    "1.13": "Tự đến KCB ngoại trú tại cơ sở cấp cơ bản đạt 50 - 70 điểm",
    "1.14": "Tự đến KCB ngoại trú tại cơ sở cấp cơ bản trước 01/01/2025 là tuyến tỉnh hoặc "
    "tuyến trung ương",
    "1.15": "Tự đến KCB nội trú tại cơ sở KCB cấp cơ bản",
    "1.16": "Tự đến KCB tại cơ sở cấp cơ bản đối với bệnh thuộc Phụ lục II Thông tư 01/2025/TT-BYT",
    "1.17": "Tự đến KCB tại cơ sở cấp chuyên sâu đối với bệnh thuộc Phụ lục I Thông tư "
    "01/2025/TT-BYT",
    "1.18": "Tự đến KCB ngoại trú tại cơ sở cấp chuyên sâu trước 01/01/2025 là tuyến tỉnh",
    EMERGENCY: "Cấp cứu",
    "3.1": "Tự đến KCB tại cơ sở cấp chuyên sâu trước 01/01/2025 là tuyến trung ương",
    "3.2": "Tự đến KCB nội trú tại cơ sở cấp chuyên sâu trước 01/01/2025 là tuyến tỉnh",
    "3.3": "Tự đến KCB tại cơ sở cấp cơ bản, cấp chuyên sâu trước 01/01/2025 là tuyến huyện",
    "3.6": "Người dân tộc thiểu số, hộ nghèo vùng khó khăn, xã đảo, huyện đảo đến KCB nội trú "
    "tại cơ sở cấp chuyên sâu",
    "7": "Lĩnh thuốc theo giấy hẹn trong dịch bệnh nhóm A hoặc trường hợp bất khả kháng",
    "7.2": "Người bệnh uỷ quyền cho người khác đến lĩnh thuốc",
    "7.3": "Lĩnh thuốc tại cơ sở KCB khác do cơ sở cấp giấy hẹn chuyển thuốc (dịch bệnh nhóm A)",
    "7.4": "Cơ sở KCB chuyển thuốc đến cho người bệnh (dịch bệnh nhóm A)",
    WITHDRAWN_CLAIM: "Thu hồi đề nghị thanh toán",
    NOT_INSURED: "Người bệnh không KCB BHYT",
    "10": "Đến lĩnh thuốc theo giấy hẹn (chỉ lĩnh thuốc, không khám bệnh, trừ mã 7)",
}

# KET_QUA_DTRI (XML1 #40, XML8 #17): the appendix's own list; "8" added by QĐ 4750.
CURED = "1"
IMPROVED = "2"
UNCHANGED = "3"
WORSENED = "4"
DIED = "5"
SENT_HOME_GRAVE = "6"
OUTCOME_UNDETERMINED = "7"
DIED_OUTSIDE = "8"
TREATMENT_RESULTS: CodeList = {
    CURED: "Khỏi",
    IMPROVED: "Đỡ",
    UNCHANGED: "Không thay đổi",
    WORSENED: "Nặng hơn",
    DIED: "Tử vong",
    SENT_HOME_GRAVE: "Tiên lượng nặng xin về",
    OUTCOME_UNDETERMINED: "Chưa xác định",
    DIED_OUTSIDE: "Tử vong ngoại viện",
}

# MA_LOAI_RV (XML1 #41; XML13 #31 uses XML1's): the appendix's own list.
DISCHARGED = "1"
REFERRED_PROFESSIONAL = "2"
ABSCONDED = "3"
LEFT_ON_REQUEST = "4"
REFERRED_ON_REQUEST = "5"
DISCHARGE_KINDS: CodeList = {
    DISCHARGED: "Ra viện",
    REFERRED_PROFESSIONAL: "Chuyển tuyến theo yêu cầu chuyên môn",
    ABSCONDED: "Trốn viện",
    LEFT_ON_REQUEST: "Xin ra viện",
    REFERRED_ON_REQUEST: "Chuyển tuyến theo yêu cầu người bệnh",
}

# GIOI_TINH (CHECKIN #7, XML1 #7; XML6, XML13, XML14 use XML1's) and GIOI_TINH_CON (XML9 #18):
# the appendix's own list.
MALE = "1"
FEMALE = "2"
SEX_UNDETERMINED = "3"
SEXES: CodeList = {MALE: "Nam", FEMALE: "Nữ", SEX_UNDETERMINED: "Chưa xác định"}

# MA_NHOM (XML2 #6, XML3 #6): Phụ lục 3 of QĐ 5937/QĐ-BYT (30/12/2021), as three public HIS
# codebases list it (an SQL seed dated 2021-12-30, a C# report template, an XML3 checker's
# manual): 5, 6, 9 and 11 of the earlier list (CV 9324/BYT-BH, 2015) are not in it. QĐ 4750 adds
# 19 to XML3 only ("các dịch vụ khác còn lại (VD: tiền ăn, tiền đi lại, tiền lưu trú,…)").
GROUP_LABORATORY = "1"
GROUP_IMAGING = "2"
GROUP_FUNCTIONAL_TESTS = "3"
GROUP_DRUGS = "4"
GROUP_BLOOD = "7"
GROUP_SURGERY = "8"
GROUP_SUPPLIES = "10"
GROUP_TRANSPORT = "12"
GROUP_EXAMINATION = "13"
GROUP_DAY_BED = "14"
GROUP_INPATIENT_BED = "15"
GROUP_STAY_BED = "16"
GROUP_BLOOD_PRODUCTS = "17"
GROUP_PROCEDURES = "18"
GROUP_OTHER_SERVICES = "19"
COST_GROUPS: CodeList = {
    GROUP_LABORATORY: "Xét nghiệm",
    GROUP_IMAGING: "Chẩn đoán hình ảnh",
    GROUP_FUNCTIONAL_TESTS: "Thăm dò chức năng",
    GROUP_DRUGS: "Thuốc",
    GROUP_BLOOD: "Máu",
    GROUP_SURGERY: "Phẫu thuật",
    GROUP_SUPPLIES: "Vật tư y tế",
    GROUP_TRANSPORT: "Vận chuyển",
    GROUP_EXAMINATION: "Khám bệnh",
    GROUP_DAY_BED: "Ngày giường bệnh ban ngày",
    GROUP_INPATIENT_BED: "Ngày giường bệnh điều trị nội trú",
    GROUP_STAY_BED: "Ngày giường lưu",
    GROUP_BLOOD_PRODUCTS: "Chế phẩm máu",
    GROUP_PROCEDURES: "Thủ thuật",
}
SERVICE_COST_GROUPS: CodeList = COST_GROUPS | {
    GROUP_OTHER_SERVICES: "Các dịch vụ khác còn lại (tiền ăn, tiền đi lại, tiền lưu trú,…)"
}

# PHAM_VI (XML2 #16 with QĐ 4750's correction of "3", XML3 #12): the appendix's own list.
IN_SCOPE = "1"
OUT_OF_SCOPE = "2"
ARMED_FORCES_SCOPE = "3"
SCOPES: CodeList = {
    IN_SCOPE: "Trong phạm vi hưởng BHYT (trong danh mục do quỹ BHYT chi trả)",
    OUT_OF_SCOPE: "Ngoài phạm vi hưởng BHYT (ngoài danh mục do quỹ BHYT chi trả)",
    ARMED_FORCES_SCOPE: "Ngoài danh mục do quỹ BHYT chi trả nhưng được quỹ BHYT chi trả cho các "
    "đối tượng thuộc quân đội, công an, cơ yếu (Nghị định 70/2015/NĐ-CP)",
}

# MA_PTTT (XML2 #35, XML3 #40): the appendix's own list.
FEE_FOR_SERVICE = "1"
CAPITATION = "2"
CASE_BASED = "3"
PAYMENT_METHODS: CodeList = {
    FEE_FOR_SERVICE: "Thanh toán theo phí dịch vụ",
    CAPITATION: "Thanh toán theo định suất",
    CASE_BASED: "Thanh toán theo trường hợp bệnh (DRG)",
}

# MA_TAI_NAN (XML1 #33): Phụ lục 4 of QĐ 5937/QĐ-BYT (30/12/2021), as four public HIS codebases
# list it (the same 1-8 as the earlier CV 9324/BYT-BH list, which one of them names); one other
# codebase writes a shorter 1-5 list, which is not followed. No accident: the field is left empty.
ACCIDENTS: CodeList = {
    "1": "Tai nạn giao thông",
    "2": "Tai nạn lao động",
    "3": "Tai nạn dưới nước",
    "4": "Bỏng",
    "5": "Bạo lực, xung đột",
    "6": "Tự tử",
    "7": "Ngộ độc các loại",
    "8": "Khác",
}

# MA_LYDO_CT (XML13 #32): the appendix's own list.
REFERRAL_ELIGIBLE = "1"
REFERRAL_BEYOND_CAPACITY = "2"
REFERRAL_ON_REQUEST = "3"
REFERRAL_REASONS: CodeList = {
    REFERRAL_ELIGIBLE: "Đủ điều kiện chuyển tuyến phù hợp với quy định chuyển tuyến",
    REFERRAL_BEYOND_CAPACITY: "Đủ điều kiện chuyển tuyến do không phù hợp với khả năng đáp ứng "
    "của cơ sở KBCB",
    REFERRAL_ON_REQUEST: "Chuyển tuyến theo yêu cầu của người bệnh hoặc người đại diện hợp pháp",
}

# MA_KHUVUC (XML1 #58: "K1 hoặc K2 hoặc K3", the area printed on the card): the appendix's own.
RESIDENCE_AREAS: CodeList = {
    "K1": "Nơi sinh sống ghi trên thẻ BHYT: K1",
    "K2": "Nơi sinh sống ghi trên thẻ BHYT: K2",
    "K3": "Nơi sinh sống ghi trên thẻ BHYT: K3",
}

# NGUON_CTRA (XML2 #36): the appendix's own list.
FUNDED_BY_INSURANCE = "1"
DRUG_FUNDING: CodeList = {
    FUNDED_BY_INSURANCE: "Do quỹ BHYT chi trả",
    "2": "Thuốc của dự án hoặc viện trợ",
    "3": "Thuốc thuộc chương trình mục tiêu Quốc gia",
    "4": "Các nguồn khác chi trả",
}

# PP_VO_CAM (XML3 #42): the appendix's own list.
ANAESTHESIA: CodeList = {
    "1": "Gây mê",
    "2": "Gây tê",
    "3": "Châm tê",
    "4": "Các phương pháp vô cảm khác",
}

_APPENDIX = "the QĐ 130/4750 appendix"
_REGISTRY: tuple[tuple[CodeList, str, tuple[tuple[str, str], ...]], ...] = (
    (
        CARE_KINDS,
        "QĐ 1804/QĐ-BYT Phụ lục 01",
        (("CHECKIN", "MA_LOAI_KCB"), ("XML1", "MA_LOAI_KCB"), ("XML8", "MA_LOAI_KCB")),
    ),
    (
        ARRIVAL_CATEGORIES,
        "QĐ 3276/QĐ-BYT Phụ lục 1",
        (("CHECKIN", "MA_DOITUONG_KCB"), ("XML1", "MA_DOITUONG_KCB"), ("XML14", "MA_DOITUONG_KCB")),
    ),
    (
        TREATMENT_RESULTS,
        f"{_APPENDIX}, XML1 #40",
        (("XML1", "KET_QUA_DTRI"), ("XML8", "KET_QUA_DTRI")),
    ),
    (DISCHARGE_KINDS, f"{_APPENDIX}, XML1 #41", (("XML1", "MA_LOAI_RV"), ("XML13", "MA_LOAI_RV"))),
    (
        SEXES,
        f"{_APPENDIX}, XML1 #7",
        tuple((t, "GIOI_TINH") for t in ("CHECKIN", "XML1", "XML6", "XML13", "XML14")),
    ),
    (SEXES, f"{_APPENDIX}, XML9 #18", (("XML9", "GIOI_TINH_CON"),)),
    (COST_GROUPS, "QĐ 5937/QĐ-BYT Phụ lục 3", (("XML2", "MA_NHOM"),)),
    (SERVICE_COST_GROUPS, "QĐ 5937/QĐ-BYT Phụ lục 3 and QĐ 4750", (("XML3", "MA_NHOM"),)),
    (SCOPES, f"{_APPENDIX}, XML2 #16", (("XML2", "PHAM_VI"), ("XML3", "PHAM_VI"))),
    (PAYMENT_METHODS, f"{_APPENDIX}, XML2 #35", (("XML2", "MA_PTTT"), ("XML3", "MA_PTTT"))),
    (ACCIDENTS, "QĐ 5937/QĐ-BYT Phụ lục 4", (("XML1", "MA_TAI_NAN"),)),
    (REFERRAL_REASONS, f"{_APPENDIX}, XML13 #32", (("XML13", "MA_LYDO_CT"),)),
    (RESIDENCE_AREAS, f"{_APPENDIX}, XML1 #58", (("XML1", "MA_KHUVUC"),)),
    (DRUG_FUNDING, f"{_APPENDIX}, XML2 #36", (("XML2", "NGUON_CTRA"),)),
    (ANAESTHESIA, f"{_APPENDIX}, XML3 #42", (("XML3", "PP_VO_CAM"),)),
)

CODE_LISTS: dict[tuple[str, str], CodeList] = {
    key: codes for codes, _, keys in _REGISTRY for key in keys
}
"""(table, field) → the field's codes and their meanings."""

CODE_SOURCES: dict[tuple[str, str], str] = {
    key: source for _, source, keys in _REGISTRY for key in keys
}
"""(table, field) → where its list comes from, as a message names it."""


_NUMERIC = frozenset(
    key
    for key, listed in CODE_LISTS.items()
    if all(code.isdigit() and code == str(int(code)) for code in listed)
)
"""The lists of plain integers: their fields are numbers (Số), so "04" is the code 4."""


def code_problem(table: str, field: str, value: str) -> str | None:
    """What is wrong with a coded value, in one line; None if it is listed or not a coded field."""
    listed = CODE_LISTS.get((table, field))
    if listed is None:
        return None
    code = str(int(value)) if (table, field) in _NUMERIC and value.isdigit() else value
    if code in listed:
        return None
    return f"{value!r} is not a code of {CODE_SOURCES[(table, field)]}"
