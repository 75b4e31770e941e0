"""One visit as the claims XML needs it: what ``claims.records`` reads from the FHIR store and
``claims.tables`` writes as XML1–XML5, XML13 and XML14 (QĐ 130/QĐ-BYT as amended by QĐ 4750).

Plain, typed values: codes are the strings the XML carries (their lists cite QĐ 824/QĐ-BYT in
``claims.codes``); amounts are ``Decimal`` in đồng; times are local (Asia/Ho_Chi_Minh) and written
yyyyMMddHHmm. Nothing here reads the store or computes an amount.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Purpose(StrEnum):
    """Why the person came: a periodic or screening check-up is not paid by the insurance fund
    (Luật BHYT, Art. 23); a visit for diagnosis and treatment is."""

    TREATMENT = "treatment"
    CHECKUP = "checkup"


class CareLevel(StrEnum):
    """The facility's level: the tuyến of Luật BHYT 2008/2014, and the cấp of Luật KBCB
    15/2023/QH15 (Art. 104) that Law 51/2024/QH15 uses from 2025-07-01. ``claims.benefit`` says
    how each maps to the benefit rules by date."""

    COMMUNE = "commune"  # trạm y tế xã; cấp khám bệnh, chữa bệnh ban đầu
    DISTRICT = "district"  # tuyến huyện; cấp ban đầu or cơ bản
    PROVINCIAL = "provincial"  # tuyến tỉnh; cấp cơ bản or chuyên sâu
    CENTRAL = "central"  # tuyến trung ương; cấp chuyên sâu


@dataclass(frozen=True)
class Facility:
    """The facility that claims: its 5-character BHYT code (MA_CSKCB) and its level."""

    code: str
    name: str
    level: CareLevel
    province_code: str  # MATINH of the facility (2 digits, pre-2025 codes), for the gateway
    organization: str = ""  # its FHIR Organization id; "" when it is not on record here


@dataclass(frozen=True)
class Person:
    """XML1 #3-#16: the patient as the claim names them."""

    id: str  # MA_BN: the facility's own patient code (the Patient's id here)
    name: str
    birth_date: date
    gender: str  # FHIR administrative gender: male, female, other, unknown
    citizen_id: str | None  # SO_CCCD
    address: str
    province_code: str | None  # MATINH_CU_TRU
    commune_code: str | None  # MAXA_CU_TRU
    phone: str | None


@dataclass(frozen=True)
class CardInForce:
    """XML1 #17-#21 and #67: the card the visit is claimed on."""

    number: str  # MA_THE_BHYT, 15 characters
    initial_facility: str  # MA_DKBD
    valid_from: date  # GT_THE_TU
    valid_to: date  # GT_THE_DEN
    five_years_from: date | None  # NAM_NAM_LIEN_TUC
    copay_exempt_from: date | None  # NGAY_MIEN_CCT


@dataclass(frozen=True)
class Diagnosis:
    code: str  # ICD-10, as "I10" or "E11.9"
    name: str


@dataclass(frozen=True)
class DrugLine:
    """One drug dispensed (a MedicationDispense): a row of XML2."""

    code: str  # MA_THUOC: the BHYT active-ingredient code of the common catalogue
    name: str  # TEN_THUOC
    unit: str  # DON_VI_TINH
    strength: str  # HAM_LUONG
    route: str  # DUONG_DUNG code
    form: str  # DANG_BAO_CHE
    dose: str  # LIEU_DUNG
    directions: str  # CACH_DUNG
    registration: str  # SO_DANG_KY
    tender: str  # TT_THAU
    cost_group: str  # MA_NHOM (QĐ 5937/QĐ-BYT, Phụ lục 3)
    scope: str  # PHAM_VI: "1" in the fund's list
    quantity: Decimal
    unit_price: Decimal  # DON_GIA
    payment_rate: Decimal  # TYLE_TT_BH, percent
    ordered: datetime  # NGAY_YL
    dispensed: datetime  # NGAY_TH_YL
    prescriber: str  # MA_BAC_SI


@dataclass(frozen=True)
class ServiceLine:
    """One service or supply charged (a ChargeItem): a row of XML3."""

    code: str  # MA_DICH_VU (empty for a supply alone)
    supply_code: str  # MA_VAT_TU (empty for a service)
    cost_group: str  # MA_NHOM
    name: str  # TEN_DICH_VU or TEN_VAT_TU
    unit: str  # DON_VI_TINH
    quantity: Decimal
    hospital_price: Decimal  # DON_GIA_BV
    insurance_price: Decimal  # DON_GIA_BH
    service_rate: Decimal  # TYLE_TT_DV, percent
    payment_rate: Decimal  # TYLE_TT_BH, percent
    tender: str  # TT_THAU (supplies)
    ordered: datetime  # NGAY_YL
    performed: datetime | None  # NGAY_TH_YL
    result: datetime | None  # NGAY_KQ
    doctor: str  # MA_BAC_SI
    performer: str  # NGUOI_THUC_HIEN


@dataclass(frozen=True)
class TestResult:
    """One result of a test: a row of XML4."""

    service_code: str  # MA_DICH_VU of the test charged in XML3
    indicator_code: str  # MA_CHI_SO
    name: str  # TEN_CHI_SO
    value: str  # GIA_TRI
    unit: str  # DON_VI_DO
    reported: datetime  # NGAY_KQ
    reader: str  # MA_BS_DOC_KQ


@dataclass(frozen=True)
class CourseEntry:
    """One entry of the clinical course: a row of XML5."""

    text: str  # DIEN_BIEN_LS
    at: datetime  # THOI_DIEM_DBLS
    by: str  # NGUOI_THUC_HIEN


@dataclass(frozen=True)
class Referral:
    """The referral paper when the person is sent on: XML13."""

    number: str  # SO_CHUYENTUYEN
    to_facility: str  # MA_NOI_DEN
    reason: str  # MA_LYDO_CT
    signs: str  # DAU_HIEU_LS
    course: str  # QT_BENHLY
    results: str  # TOMTAT_KQ
    treatment: str  # PP_DIEU_TRI
    direction: str  # HUONG_DIEU_TRI
    transport: str  # PHUONGTIEN_VC
    signed_by: str  # MA_BAC_SI
    on_patient_request: bool  # MA_LOAI_RV 5 rather than 2


@dataclass(frozen=True)
class Revisit:
    """The re-visit appointment (a FHIR Appointment): XML14 and XML1 NGAY_TAI_KHAM."""

    number: str  # SO_GIAYHEN_KL
    on: date  # NGAY_HEN_KL
    by: str  # MA_BAC_SI


@dataclass(frozen=True)
class Visit:
    """Everything one claim (one MA_LK) is made of."""

    encounter_id: str
    facility: Facility
    department: str  # MA_KHOA
    person: Person
    card: CardInForce | None  # None: no Coverage in force (then the visit is not claimable)
    purpose: Purpose
    kind: str  # MA_LOAI_KCB
    arrival_kind: str  # MA_DOITUONG_KCB
    emergency: bool
    referred_from: str  # MA_NOI_DI (empty when not referred in)
    arrived: datetime  # NGAY_VAO
    left: datetime  # NGAY_RA
    main_diagnosis: Diagnosis | None
    other_diagnoses: tuple[Diagnosis, ...]
    outcome: str  # KET_QUA_DTRI
    doctor: str  # MA_BAC_SI of the visit (practising-certificate number)
    weight_kg: Decimal | None  # CAN_NANG
    drugs: tuple[DrugLine, ...] = ()
    services: tuple[ServiceLine, ...] = ()
    tests: tuple[TestResult, ...] = ()
    course: tuple[CourseEntry, ...] = ()
    referral: Referral | None = None
    revisit: Revisit | None = None
    notes: tuple[str, ...] = field(default=())  # GHI_CHU

    @property
    def claim_key(self) -> str:
        """MA_LK: unique per claim, at most 100 characters (XML1 #1); the Encounter's id."""
        return self.encounter_id
