"""Hand-built visits for the claims tests, with their amounts worked by hand.

FOLLOW_UP: an outpatient visit (MA_LOAI_KCB 01) to a district hospital for hypertension and
type 2 diabetes, card DN4 (benefit level 4: MUC_HUONG 80, QĐ 1351/QĐ-BHXH Art. 2), total above
15 % of the base salary, so the 80 % applies. Each row: THANH_TIEN_BV = SO_LUONG × price (XML2
#20, XML3 #19), THANH_TIEN_BH = × TYLE_TT_BH/100 (#21/#20), T_BHTT = THANH_TIEN_BH × 80/100,
T_BNCCT = THANH_TIEN_BH − T_BHTT, T_BNTT = THANH_TIEN_BV − THANH_TIEN_BH:

    Amlodipin     30 × 350.5      = 10515.00   BH 10515.00  BHTT   8412.00  BNCCT  2103.00
    Insulin        2 × 198450     = 396900.00  BH 396900.00 BHTT 317520.00  BNCCT 79380.00
    Khám nội       1 × 38700      = 38700.00   BH 38700.00  BHTT  30960.00  BNCCT  7740.00
    Glucose        1 × 21500      = 21500.00   BH 21500.00  BHTT  17200.00  BNCCT  4300.00
    Kim lấy máu    1 × 1250.5     = 1250.50    at 50 %: BH 625.25, BNTT 625.25,
                                                            BHTT    500.20  BNCCT   125.05

REFERRED: outpatient treatment over two days (MA_LOAI_KCB 02) ending in a referral on the
patient's request (MA_LOAI_RV 5), with a clinical course (XML5) and no drugs, tests or
appointment; its one service costs less than 15 % of the base salary, so MUC_HUONG is 100.
"""

from datetime import date, datetime
from decimal import Decimal

from songkhoe.claims.benefit import Amounts, VisitAmounts
from songkhoe.claims.visit import (
    CardInForce,
    CareLevel,
    CourseEntry,
    Diagnosis,
    DrugLine,
    Facility,
    Person,
    Purpose,
    Referral,
    Revisit,
    ServiceLine,
    TestResult,
    Visit,
)

D = Decimal


HOSPITAL = Facility("24003", "Trung tâm Y tế huyện Yên Dũng", CareLevel.DISTRICT, "24")
PERSON = Person(
    id="p-0001",
    name="Nguyễn Văn An",
    birth_date=date(1961, 3, 12),
    gender="male",
    citizen_id="024061000123",
    address="Thôn Đông, xã Tân Liễu, tỉnh Bắc Ninh",
    province_code="24",
    commune_code="07456",
    phone="0912345678",
)
CARD = CardInForce(
    number="DN4240123456789",
    initial_facility="24003",
    valid_from=date(2026, 1, 1),
    valid_to=date(2026, 12, 31),
    five_years_from=date(2019, 5, 1),
    copay_exempt_from=None,
)
DOCTOR = "000123/BG-CCHN"
ORDERED = datetime(2026, 11, 5, 8, 15)


def _drug(code: str, name: str, quantity: str, price: str, **rest: object) -> DrugLine:
    values: dict = {
        "code": code, "name": name, "unit": "Viên", "strength": "5mg", "route": "1.01",
        "form": "Viên nén", "dose": "1 viên/lần * 1 lần/ngày * 30 ngày [1 viên/ngày]",
        "directions": "Uống sau ăn sáng", "registration": "VD-12345-10",
        "tender": "123/QĐ-SYT;G1;N4;2025", "cost_group": "4", "scope": "1",
        "quantity": D(quantity), "unit_price": D(price), "payment_rate": D(100),
        "ordered": ORDERED, "dispensed": datetime(2026, 11, 5, 8, 40), "prescriber": DOCTOR,
    }  # fmt: skip
    return DrugLine(**(values | rest))


def _service(code: str, name: str, group: str, price: str, **rest: object) -> ServiceLine:
    values: dict = {
        "code": code, "supply_code": "", "cost_group": group, "name": name, "unit": "Lần",
        "quantity": D(1), "hospital_price": D(price), "insurance_price": D(price),
        "service_rate": D(100), "payment_rate": D(100), "tender": "",
        "ordered": datetime(2026, 11, 5, 7, 50), "performed": datetime(2026, 11, 5, 7, 55),
        "result": datetime(2026, 11, 5, 8, 10), "doctor": DOCTOR, "performer": DOCTOR,
    }  # fmt: skip
    return ServiceLine(**(values | rest))


FOLLOW_UP = Visit(
    encounter_id="enc-0001",
    facility=HOSPITAL,
    department="K01",
    person=PERSON,
    card=CARD,
    purpose=Purpose.TREATMENT,
    kind="01",
    arrival_kind="1.1",
    emergency=False,
    referred_from="",
    arrived=datetime(2026, 11, 5, 7, 40),
    left=datetime(2026, 11, 5, 9, 10),
    main_diagnosis=Diagnosis("I10", "Bệnh lý tăng huyết áp vô căn (nguyên phát)"),
    other_diagnoses=(Diagnosis("E11.9", "Bệnh đái tháo đường type 2 không có biến chứng"),),
    outcome="2",
    doctor=DOCTOR,
    weight_kg=D("62.5"),
    drugs=(
        _drug("40.677", "Amlodipin 5mg", "30", "350.5"),
        _drug(
            "40.512",
            "Insulin glargine",
            "2",
            "198450",
            unit="Bút",
            strength="100UI/ml x 3ml",
            route="2.15",
            form="Dung dịch tiêm",
            dose="20 UI/lần * 1 lần/ngày * 30 ngày [20 UI/ngày]",
            directions="Tiêm dưới da buổi tối",
            registration="QLSP-0123-13",
        ),
    ),  # fmt: skip
    services=(
        _service("02.1896", "Khám Nội", "13", "38700", performed=None, result=None),
        _service("23.0075.1494", "Định lượng Glucose [Máu]", "1", "21500"),
        _service(
            "",
            "Kim lấy máu",
            "10",
            "1250.5",
            supply_code="N03.02.070",
            unit="Cái",
            payment_rate=D(50),
            tender="45/QĐ-SYT;G2;N1;2025",
            performed=None,
            result=None,
        ),
    ),  # fmt: skip
    tests=(
        TestResult(
            service_code="23.0075.1494",
            indicator_code="2010",
            name="Glucose",
            value="7.8",
            unit="mmol/L",
            reported=datetime(2026, 11, 5, 8, 10),
            reader="000456/BG-CCHN",
        ),
    ),  # fmt: skip
    course=(CourseEntry("CSST<M78_HA150/90>", datetime(2026, 11, 5, 7, 55), DOCTOR),),
    revisit=Revisit(number="GH-2026-0456", on=date(2026, 12, 5), by=DOCTOR),
    notes=("Tái khám sau 30 ngày", "Ăn nhạt"),
)

FOLLOW_UP_AMOUNTS = VisitAmounts(
    rate=D(80),
    why="card level 4: 80 %",
    drugs=(
        Amounts(D("10515.00"), D("10515.00"), D(80), D("8412.00"), D("2103.00"), D(0)),
        Amounts(D("396900.00"), D("396900.00"), D(80), D("317520.00"), D("79380.00"), D(0)),
    ),
    services=(
        Amounts(D("38700.00"), D("38700.00"), D(80), D("30960.00"), D("7740.00"), D(0)),
        Amounts(D("21500.00"), D("21500.00"), D(80), D("17200.00"), D("4300.00"), D(0)),
        Amounts(D("1250.50"), D("625.25"), D(80), D("500.20"), D("125.05"), D("625.25")),
    ),
)

REFERRED = Visit(
    encounter_id="enc-0002",
    facility=HOSPITAL,
    department="K03",
    person=PERSON,
    card=CARD,
    purpose=Purpose.TREATMENT,
    kind="02",
    arrival_kind="1.3",
    emergency=False,
    referred_from="24101",
    arrived=datetime(2026, 11, 30, 22, 5),
    left=datetime(2026, 12, 1, 10, 30),
    main_diagnosis=Diagnosis("I10", "Bệnh lý tăng huyết áp vô căn (nguyên phát)"),
    other_diagnoses=(),
    outcome="3",
    doctor=DOCTOR,
    weight_kg=None,
    services=(
        _service(
            "02.1896",
            "Khám Nội",
            "13",
            "38700",
            ordered=datetime(2026, 11, 30, 22, 10),
            performed=None,
            result=None,
        ),
    ),  # fmt: skip
    course=(
        CourseEntry("CSST<M96_HA190/110>", datetime(2026, 11, 30, 22, 10), DOCTOR),
        CourseEntry("HA không giảm sau điều trị", datetime(2026, 12, 1, 9, 0), "000789/BG-CCHN"),
    ),
    referral=Referral(
        number="CT-2026-0089",
        to_facility="24001",
        reason="3",
        signs="Đau đầu, HA 190/110 mmHg",
        course="Tăng huyết áp không kiểm soát",
        results="Điện tim: dày thất trái",
        treatment="Nội khoa",
        direction="Điều trị tại tuyến trên",
        transport="Xe cứu thương",
        signed_by=DOCTOR,
        on_patient_request=True,
    ),
)

REFERRED_AMOUNTS = VisitAmounts(
    rate=D(100),
    why="under 15 % of the base salary",
    drugs=(),
    # 38700.00 is below 15 % of the base salary (2,340,000 × 15 % = 351,000): MUC_HUONG 100
    services=(Amounts(D("38700.00"), D("38700.00"), D(100), D("38700.00"), D(0), D(0)),),
)
