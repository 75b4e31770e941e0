"""One visit as the rows of the claims tables XML1–XML5, XML13 and XML14 (QĐ 130/QĐ-BYT as
amended by QĐ 4750/QĐ-BYT, 29/12/2023): "XML2 #20" below is table XML2, field number 20 of the
appendix (``songkhoe.claims.fields``, ``data/qd4750_fields.csv``).

Every row holds every field of its table, in the appendix's order, a field with nothing to say
left empty; a value longer than the field's maximum (as raised by 4750) is refused
(``ClaimError``), never cut. Times are yyyyMMddHHmm (12 characters) and dates yyyyMMdd (8) in
Vietnam time, as each field's description says; numbers are written with "." and no exponent,
amounts with 2 decimals ("làm tròn số đến 2 chữ số thập phân", XML2 #20-#30, XML3 #19-#30).

The amounts of each row are given (``claims.benefit.visit_amounts``: THANH_TIEN_BV,
THANH_TIEN_BH, MUC_HUONG, T_BHTT, T_BNCCT, T_BNTT); XML1's totals are computed here from the rows
written, so each of XML1 #44-#52 holds by construction. No other source pays (T_NGUONKHAC and its
four parts are 0): the Visit records none.

Which tables a claim carries, by the notes of the appendix: XML1, XML2 (drugs) and XML3 (services
and supplies) when they have rows; XML4 only with test results ("chỉ gửi ... trong trường hợp
người bệnh có thực hiện các dịch vụ cận lâm sàng"); XML5 only for MA_LOAI_KCB 02, 05, 08 and
inpatient-like care 03, 04, 06, 09 (its note); XML13 only when the person is referred on, MA_LOAI_RV
2 or 5 (its note); XML14 only with a re-visit appointment (its note).
"""

import sys
from datetime import date, datetime
from decimal import Decimal

from songkhoe.claims import codes
from songkhoe.claims.benefit import Amounts, VisitAmounts
from songkhoe.claims.fields import field_tables
from songkhoe.claims.visit import Diagnosis, Visit
from songkhoe.timezones import VIETNAM

Row = dict[str, str]
ClaimRows = dict[str, list[Row]]
"""Table name ("XML1" …) → its rows, only the tables the claim carries, in the envelope's order."""

ZERO = Decimal(0)
MAX_OTHER_DIAGNOSES = 12
"""XML1 #27 MA_BENH_KT: "Cơ sở KBCB chỉ được ghi tối đa 12 mã bệnh kèm theo"."""

COURSE_KINDS = frozenset({
    codes.OUTPATIENT_TREATMENT, codes.CHRONIC_OUTPATIENT_DRUGS, codes.CHRONIC_OUTPATIENT_SERVICES,
    codes.INPATIENT, codes.DAY_TREATMENT, codes.FACILITY_STAY, codes.INPATIENT_UNDER_4_HOURS,
})  # fmt: skip
"""The MA_LOAI_KCB of XML5's note: "điều trị ngoại trú (MA_LOAI_KCB = 02, 05, 08) hoặc điều trị
nội trú hoặc điều trị nội trú ban ngày hoặc điều trị lưu tại TYT tuyến xã, PKĐKKV hoặc điều trị
nội trú dưới 4 giờ"."""

ADMITTED_KINDS = frozenset({codes.INPATIENT, codes.DAY_TREATMENT, codes.INPATIENT_UNDER_4_HOURS})
"""XML1 #35 NGAY_VAO_NOI_TRU is written for inpatient and day treatment ("chỉ định vào điều trị
nội trú hoặc điều trị nội trú ban ngày"), under-4-hours inpatient care included; the Visit has no
separate admission order, so it is the arrival."""

_NO_DAYS = frozenset({codes.OUTPATIENT_VISIT, codes.DRUGS_BY_APPOINTMENT,
                      codes.INPATIENT_UNDER_4_HOURS})  # fmt: skip
_CALENDAR_DAYS = frozenset({codes.OUTPATIENT_TREATMENT, codes.INPATIENT, codes.DAY_TREATMENT,
                            codes.FACILITY_STAY})  # fmt: skip

_SEXES = {"male": codes.MALE, "female": codes.FEMALE}
"""XML1 #7 GIOI_TINH from FHIR's administrative gender; "other" and "unknown" are 3."""


class ClaimError(ValueError):
    """A visit whose data cannot be written as the appendix asks (a value too long, a number with
    too many decimals): the claim is not built. Its text is ``MA_LK, table, field: message``, the
    checker's line without the file."""

    def __init__(self, key: str, table: str, field: str, message: str) -> None:
        super().__init__(f"{key}, {table}, {field}: {message}")
        self.key = key
        self.table = table
        self.field = field
        self.message = message


def claim_rows(visit: Visit, amounts: VisitAmounts) -> ClaimRows:
    """The rows of every table this visit's claim carries (see the module's docstring)."""
    if len(amounts.drugs) != len(visit.drugs) or len(amounts.services) != len(visit.services):
        raise ValueError(
            f"{visit.claim_key}: {len(amounts.drugs)} drug and {len(amounts.services)} service "
            f"amounts for {len(visit.drugs)} drugs and {len(visit.services)} services"
        )
    writer = _Writer(visit)
    drugs = [writer.drug(i, amounts.drugs[i]) for i in range(len(visit.drugs))]
    services = [writer.service(i, amounts.services[i]) for i in range(len(visit.services))]
    tables: ClaimRows = {"XML1": [writer.summary(drugs, services)]}
    if drugs:
        tables["XML2"] = drugs
    if services:
        tables["XML3"] = services
    if visit.tests:
        tables["XML4"] = [writer.test(i) for i in range(len(visit.tests))]
    if visit.course and visit.kind in COURSE_KINDS:
        tables["XML5"] = [writer.course(i) for i in range(len(visit.course))]
    if visit.referral is not None:
        tables["XML13"] = [writer.referral()]
    if visit.revisit is not None:
        tables["XML14"] = [writer.revisit()]
    return tables


def checkin_rows(visit: Visit, amounts: VisitAmounts) -> list[Row]:
    """The check-in table of a visit (the appendix's CHECKIN), sent to the gateway as the person
    arrives: the fields it shares with XML1 (the person, the card, MA_DOITUONG_KCB, NGAY_VAO,
    MA_LOAI_KCB, MA_CSKCB ...) as XML1 writes them; no order is made yet, so MA_DICH_VU …
    NGAY_YL are empty."""
    summary = claim_rows(visit, amounts)["XML1"][0]
    return [{name: summary.get(name, "") for name in _LIMITS["CHECKIN"]} | {"STT": "1"}]


def time12(moment: datetime) -> str:
    """yyyyMMddHHmm in Vietnam time (a naive time is taken as Vietnam time, as ``Visit`` says)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM)
    return f"{moment:%Y%m%d%H%M}"


def date8(day: date) -> str:
    return f"{day:%Y%m%d}"


def money(amount: Decimal) -> str:
    """An amount in đồng with 2 decimals, as every THANH_TIEN_*, T_* field is written."""
    return f"{amount:.2f}"


class _Writer:
    """The rows of one visit; every value passes through ``_row``, which orders, completes and
    measures them against the appendix."""

    def __init__(self, visit: Visit) -> None:
        self.visit = visit
        self.key = visit.claim_key

    def _row(self, table: str, values: dict[str, str]) -> Row:
        limits = _LIMITS[table]
        for name, value in values.items():
            # a KeyError is a field this module misnames: a bug here
            if len(value) > limits[name]:
                raise ClaimError(
                    self.key,
                    table,
                    name,
                    f"{len(value)} characters, more than the maximum {limits[name]}",
                )
        return {name: values.get(name, "") for name in limits}

    def _number(self, table: str, field: str, value: Decimal, places: int) -> str:
        """A quantity, price or rate without exponent, at most `places` decimals as the field
        says (SO_LUONG, DON_GIA*: 3, XML2 #18-#19, XML3 #13-#15; rates: integers, XML2 #17)."""
        normal = value.normalize()
        exponent = normal.as_tuple().exponent
        if not isinstance(exponent, int) or exponent < -places:
            raise ClaimError(
                self.key, table, field, f"{value} is not a number of at most {places} decimals"
            )
        return format(normal, "f")

    def _diagnoses(self) -> dict[str, str]:
        """XML1 #24-#27 and their copies in XML13/XML14: MA_BENH_CHINH (one code), MA_BENH_KT
        (at most 12 codes, ";"), CHAN_DOAN_RV (the names of all, main first, "; ")."""
        main = self.visit.main_diagnosis
        others = self.visit.other_diagnoses
        named: list[Diagnosis] = ([main] if main else []) + list(others)
        if len(others) > MAX_OTHER_DIAGNOSES:
            raise ClaimError(
                self.key,
                "XML1",
                "MA_BENH_KT",
                f"{len(others)} other diagnoses, at most {MAX_OTHER_DIAGNOSES} may be claimed",
            )
        return {
            "MA_BENH_CHINH": main.code if main else "",
            "MA_BENH_KT": ";".join(d.code for d in others),
            "CHAN_DOAN_RV": "; ".join(d.name for d in named),
        }

    def _stay(self) -> dict[str, str]:
        """NGAY_VAO, NGAY_VAO_NOI_TRU, NGAY_RA (XML1 #34-#36, copied by XML13/XML14)."""
        visit = self.visit
        return {
            "NGAY_VAO": time12(visit.arrived),
            "NGAY_VAO_NOI_TRU": time12(visit.arrived) if visit.kind in ADMITTED_KINDS else "",
            "NGAY_RA": time12(visit.left),
        }

    def _person(self) -> dict[str, str]:
        """HO_TEN, NGAY_SINH (yyyyMMdd + "0000": "không có thông tin giờ, phút sinh thì ký tự
        giờ và phút được mặc định là 0000", XML1 #6), GIOI_TINH, DIA_CHI, and the card's
        MA_THE_BHYT and GT_THE_DEN, as XML13 and XML14 copy them from XML1."""
        person, card = self.visit.person, self.visit.card
        return {
            "HO_TEN": person.name,
            "NGAY_SINH": date8(person.birth_date) + "0000",
            "GIOI_TINH": _SEXES.get(person.gender, codes.SEX_UNDETERMINED),
            "DIA_CHI": person.address,
            "MA_THE_BHYT": card.number if card else "",
            "GT_THE_DEN": date8(card.valid_to) if card else "",
        }

    def _released(self) -> str:
        """XML1 #41 MA_LOAI_RV: 2 or 5 when referred on (professional or patient's request),
        otherwise 1 (ra viện); the Visit records no absconding or leaving on request."""
        referral = self.visit.referral
        if referral is None:
            return codes.DISCHARGED
        if referral.on_patient_request:
            return codes.REFERRED_ON_REQUEST
        return codes.REFERRED_PROFESSIONAL

    def _treatment_days(self) -> str:
        """XML1 #38 SO_NGAY_DTRI as 4750 states it by MA_LOAI_KCB: 0 for 01, 07, 09; NGAY_RA −
        NGAY_VAO + 1 (calendar days) for 02, 03, 04, 06; for 05 the days of drug use, which is
        the same count, NGAY_RA being "ngày cuối cùng sử dụng thuốc" (XML1 #36); for 08 the days
        on which services were performed. Empty for the codes the appendix does not cover."""
        visit = self.visit
        if visit.kind in _NO_DAYS:
            return "0"
        if visit.kind in _CALENDAR_DAYS or visit.kind == codes.CHRONIC_OUTPATIENT_DRUGS:
            return str((_local_day(visit.left) - _local_day(visit.arrived)).days + 1)
        if visit.kind == codes.CHRONIC_OUTPATIENT_SERVICES:
            days = {_local_day(s.performed or s.ordered) for s in visit.services}
            return str(len(days))
        return ""

    def summary(self, drugs: list[Row], services: list[Row]) -> Row:
        """XML1. Totals (#44-#52) are sums over the rows as written; NGAY_TTOAN (#43) is the
        end of the visit (the Visit records no payment time: the person is taken to pay on
        leaving), and NAM_QT/THANG_QT (#53-#54) its year and month, the claim being put to the
        fund for the month it was settled. Every row is paid by fee for service (MA_PTTT 1), so
        T_BHTT_GDV is the T_BHTT of all rows."""
        visit = self.visit
        card = visit.card
        rows = drugs + services
        supplies = [r for r in services if r["MA_VAT_TU"]]
        total_bh = _total(rows, "THANH_TIEN_BH")
        copay = _total(rows, "T_BNCCT")
        fee_for_service = [r for r in rows if r["MA_PTTT"] == codes.FEE_FOR_SERVICE]
        settled = visit.left
        referral = visit.referral
        return self._row("XML1", {
            "MA_LK": self.key,
            "STT": "1",  # one claim per envelope: "tăng từ 1 đến hết trong một lần gửi dữ liệu"
            "MA_BN": visit.person.id,
            **self._person(),
            "SO_CCCD": visit.person.citizen_id or "",
            "MATINH_CU_TRU": visit.person.province_code or "",
            "MAXA_CU_TRU": visit.person.commune_code or "",
            "DIEN_THOAI": visit.person.phone or "",
            "MA_DKBD": card.initial_facility if card else "",
            "GT_THE_TU": date8(card.valid_from) if card else "",
            "NGAY_MIEN_CCT": date8(card.copay_exempt_from)
            if card and card.copay_exempt_from else "",
            "CHAN_DOAN_VAO": visit.main_diagnosis.name if visit.main_diagnosis else "",
            **self._diagnoses(),
            "MA_DOITUONG_KCB": visit.arrival_kind,
            "MA_NOI_DI": visit.referred_from,
            "MA_NOI_DEN": referral.to_facility if referral else "",
            **self._stay(),
            "SO_NGAY_DTRI": self._treatment_days(),
            "PP_DIEU_TRI": referral.treatment if referral else "",
            "KET_QUA_DTRI": visit.outcome,
            "MA_LOAI_RV": self._released(),
            "GHI_CHU": "; ".join(visit.notes),
            "NGAY_TTOAN": time12(settled),
            "T_THUOC": money(_total(drugs, "THANH_TIEN_BV")),
            "T_VTYT": money(_total(supplies, "THANH_TIEN_BV")),
            "T_TONGCHI_BV": money(_total(rows, "THANH_TIEN_BV")),
            "T_TONGCHI_BH": money(total_bh),
            "T_BNTT": money(_total(rows, "T_BNTT")),
            "T_BNCCT": money(copay),
            "T_BHTT": money(total_bh - copay),  # #50: T_TONGCHI_BH − T_BNCCT
            "T_NGUONKHAC": money(_total(rows, "T_NGUONKHAC")),
            "T_BHTT_GDV": money(_total(fee_for_service, "T_BHTT")),
            "NAM_QT": f"{_local_day(settled).year}",
            "THANG_QT": f"{_local_day(settled).month}",
            "MA_LOAI_KCB": visit.kind,
            "MA_KHOA": visit.department,
            "MA_CSKCB": visit.facility.code,
            "CAN_NANG": f"{visit.weight_kg:.2f}" if visit.weight_kg is not None else "",
            "NAM_NAM_LIEN_TUC": date8(card.five_years_from)
            if card and card.five_years_from else "",
            "NGAY_TAI_KHAM": date8(visit.revisit.on) if visit.revisit else "",
            "MA_HSBA": self.key,
        })  # fmt: skip

    def _shares(self, table: str, amounts: Amounts) -> dict[str, str]:
        """THANH_TIEN_BV, THANH_TIEN_BH, MUC_HUONG, T_BNTT, T_BNCCT, T_BHTT of a row as given,
        and no other source (T_NGUONKHAC and its parts 0)."""
        nothing = money(ZERO)
        return {
            "THANH_TIEN_BV": money(amounts.hospital),
            "THANH_TIEN_BH": money(amounts.insured),
            "T_NGUONKHAC_NSNN": nothing,
            "T_NGUONKHAC_VTNN": nothing,
            "T_NGUONKHAC_VTTN": nothing,
            "T_NGUONKHAC_CL": nothing,
            "T_NGUONKHAC": nothing,
            "MUC_HUONG": self._number(table, "MUC_HUONG", amounts.rate, 0),
            "T_BNTT": money(amounts.patient),
            "T_BNCCT": money(amounts.copay),
            "T_BHTT": money(amounts.insurer),
            "MA_PTTT": codes.FEE_FOR_SERVICE,
        }

    def drug(self, index: int, amounts: Amounts) -> Row:
        """XML2 row: one drug dispensed, paid by the fund (NGUON_CTRA 1)."""
        line = self.visit.drugs[index]
        return self._row("XML2", {
            "MA_LK": self.key,
            "STT": str(index + 1),
            "MA_THUOC": line.code,
            "MA_NHOM": line.cost_group,
            "TEN_THUOC": line.name,
            "DON_VI_TINH": line.unit,
            "HAM_LUONG": line.strength,
            "DUONG_DUNG": line.route,
            "DANG_BAO_CHE": line.form,
            "LIEU_DUNG": line.dose,
            "CACH_DUNG": line.directions,
            "SO_DANG_KY": line.registration,
            "TT_THAU": line.tender,
            "PHAM_VI": line.scope,
            "TYLE_TT_BH": self._number("XML2", "TYLE_TT_BH", line.payment_rate, 0),
            "SO_LUONG": self._number("XML2", "SO_LUONG", line.quantity, 3),
            "DON_GIA": self._number("XML2", "DON_GIA", line.unit_price, 3),
            **self._shares("XML2", amounts),
            "MA_KHOA": self.visit.department,
            "MA_BAC_SI": line.prescriber,
            "NGAY_YL": time12(line.ordered),
            "NGAY_TH_YL": time12(line.dispensed),
            "NGUON_CTRA": codes.FUNDED_BY_INSURANCE,
        })  # fmt: skip

    def service(self, index: int, amounts: Amounts) -> Row:
        """XML3 row: a service (MA_DICH_VU, TEN_DICH_VU) or a supply (MA_VAT_TU, TEN_VAT_TU).
        PHAM_VI (#12) is 1 when the fund pays a share (TYLE_TT_BH > 0), else 2: the Visit's
        ServiceLine carries no scope of its own."""
        line = self.visit.services[index]
        supply = bool(line.supply_code)
        return self._row("XML3", {
            "MA_LK": self.key,
            "STT": str(index + 1),
            "MA_DICH_VU": line.code,
            "MA_VAT_TU": line.supply_code,
            "MA_NHOM": line.cost_group,
            "TEN_VAT_TU": line.name if supply else "",
            "TEN_DICH_VU": "" if supply else line.name,
            "DON_VI_TINH": line.unit,
            "PHAM_VI": codes.IN_SCOPE if line.payment_rate > 0 else codes.OUT_OF_SCOPE,
            "SO_LUONG": self._number("XML3", "SO_LUONG", line.quantity, 3),
            "DON_GIA_BV": self._number("XML3", "DON_GIA_BV", line.hospital_price, 3),
            "DON_GIA_BH": self._number("XML3", "DON_GIA_BH", line.insurance_price, 3),
            "TT_THAU": line.tender,
            "TYLE_TT_DV": self._number("XML3", "TYLE_TT_DV", line.service_rate, 0),
            "TYLE_TT_BH": self._number("XML3", "TYLE_TT_BH", line.payment_rate, 0),
            **self._shares("XML3", amounts),
            "MA_KHOA": self.visit.department,
            "MA_BAC_SI": line.doctor,
            "NGUOI_THUC_HIEN": line.performer,
            "NGAY_YL": time12(line.ordered),
            "NGAY_TH_YL": time12(line.performed) if line.performed else "",
            "NGAY_KQ": time12(line.result) if line.result else "",
        })  # fmt: skip

    def test(self, index: int) -> Row:
        """XML4 row: one result of a test charged in XML3."""
        result = self.visit.tests[index]
        return self._row("XML4", {
            "MA_LK": self.key,
            "STT": str(index + 1),
            "MA_DICH_VU": result.service_code,
            "MA_CHI_SO": result.indicator_code,
            "TEN_CHI_SO": result.name,
            "GIA_TRI": result.value,
            "DON_VI_DO": result.unit,
            "NGAY_KQ": time12(result.reported),
            "MA_BS_DOC_KQ": result.reader,
        })  # fmt: skip

    def course(self, index: int) -> Row:
        """XML5 row: one entry of the clinical course."""
        entry = self.visit.course[index]
        return self._row("XML5", {
            "MA_LK": self.key,
            "STT": str(index + 1),
            "DIEN_BIEN_LS": entry.text,
            "THOI_DIEM_DBLS": time12(entry.at),
            "NGUOI_THUC_HIEN": entry.by,
        })  # fmt: skip

    def referral(self) -> Row:
        """XML13: the referral paper. The Visit carries one number (the referral book's,
        SO_CHUYENTUYEN #3), written also as the paper's number GIAY_CHUYEN_TUYEN (#4); the file
        number SO_HOSO (#2), "do cơ sở KBCB quy định", is the visit's record number (MA_HSBA).
        PP_DIEUTRI (#24) and PP_DIEU_TRI (#30) both name XML1's PP_DIEU_TRI; TEN_DICH_VU (#28)
        and TEN_THUOC (#29) list the services and drugs used, "; " between names."""
        visit = self.visit
        paper = visit.referral
        assert paper is not None  # claim_rows writes XML13 only for a referral
        services = [s.name for s in visit.services if not s.supply_code]
        return self._row("XML13", {
            "MA_LK": self.key,
            "SO_HOSO": self.key,
            "SO_CHUYENTUYEN": paper.number,
            "GIAY_CHUYEN_TUYEN": paper.number,
            "MA_CSKCB": visit.facility.code,
            "MA_NOI_DI": visit.referred_from,
            "MA_NOI_DEN": paper.to_facility,
            **self._person(),
            **self._stay(),
            "DAU_HIEU_LS": paper.signs,
            "QT_BENHLY": paper.course,
            "TOMTAT_KQ": paper.results,
            "PP_DIEUTRI": paper.treatment,
            **self._diagnoses(),
            "TEN_DICH_VU": "; ".join(services),
            "TEN_THUOC": "; ".join(d.name for d in visit.drugs),
            "PP_DIEU_TRI": paper.treatment,
            "MA_LOAI_RV": self._released(),
            "MA_LYDO_CT": paper.reason,
            "HUONG_DIEU_TRI": paper.direction,
            "PHUONGTIEN_VC": paper.transport,
            "MA_BAC_SI": paper.signed_by,
        })  # fmt: skip

    def revisit(self) -> Row:
        """XML14: the re-visit appointment. NGAY_HEN_KL (#13) is a 12-character time and the
        appointment a day: its hour and minute are written 0000, as XML1 #6 writes an unknown
        time of birth. NGAY_CT (#22), the day the paper is issued, is the day the visit ends."""
        visit = self.visit
        appointment = visit.revisit
        assert appointment is not None  # claim_rows writes XML14 only for an appointment
        return self._row("XML14", {
            "MA_LK": self.key,
            "SO_GIAYHEN_KL": appointment.number,
            "MA_CSKCB": visit.facility.code,
            **self._person(),
            **self._stay(),
            "NGAY_HEN_KL": date8(appointment.on) + "0000",
            **self._diagnoses(),
            "MA_DOITUONG_KCB": visit.arrival_kind,
            "MA_BAC_SI": appointment.by,
            "NGAY_CT": date8(_local_day(visit.left)),
        })  # fmt: skip


_LIMITS = {
    table: {name: spec.max_size or sys.maxsize for name, spec in specs.items()}
    for table, specs in field_tables().items()
}
"""Table → field → its maximum size (4750's), in the appendix's order; no maximum: maxsize."""


def _local_day(moment: datetime) -> date:
    return (moment.astimezone(VIETNAM) if moment.tzinfo is not None else moment).date()


def _total(rows: list[Row], field: str) -> Decimal:
    return sum((Decimal(r[field]) for r in rows), ZERO)
