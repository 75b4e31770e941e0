"""A signed prescription as the JSON that Vietnam's national e-prescription system takes
(Hệ thống thông tin quốc gia về quản lý kê đơn thuốc và bán thuốc theo đơn, donthuocquocgia.vn).

Specification: Quyết định 808/QĐ-BYT (01/04/2022) "Tài liệu hướng dẫn kết nối với hệ thống thông
tin quốc gia về quản lý kê đơn thuốc và bán thuốc theo đơn" (Bộ Y tế, Cục Công nghệ thông tin),
part V, the "gửi đơn thuốc" message. The decree's text itself was not reachable from here; the
field names below were checked against three independent client implementations and a test stub
of the national API (public GitHub code found with the project's search tool) that agree on them.
Details marked UNVERIFIED are where those sources disagree or say nothing; check them against the
decree before connecting to the live system. The digital signature (`signature`) is not produced.
"""

from songkhoe.clinical.documents import address_text
from songkhoe.fhir.names import full_name
from songkhoe.fhir.systems import BHYT, CCCD
from songkhoe.prescribing.catalogue import CATALOGUE_SYSTEM
from songkhoe.prescribing.service import Prescription
from songkhoe.timezones import in_vietnam

# UNVERIFIED: 1 = chưa xác định (unknown), 2 = nam, 3 = nữ, as two clients map it.
SEX = {"male": 2, "female": 3}


def _identifier(patient: dict, system: str) -> str:
    return next((i["value"] for i in patient.get("identifier", []) if i["system"] == system), "")


def _dmy(date: str) -> str:
    """A FHIR date as dd/mm/yyyy (a year alone as 01/01/yyyy); "" when it is unknown."""
    if not date:
        return ""
    year, month, day = (date.split("-") + ["01", "01"])[:3]
    return f"{day}/{month}/{year}"


def national_payload(prescription: Prescription, patient: dict, phone: str = "") -> dict:
    """The "gửi đơn thuốc" JSON of one prescription."""
    first = prescription.requests[0]
    advice = (first.get("note") or [{}])[0].get("text", "")
    lines = []
    for request in prescription.requests:
        concept = request["medicationCodeableConcept"]
        local_code = next(c["code"] for c in concept["coding"] if c["system"] == CATALOGUE_SYSTEM)
        lines.append(
            {
                # UNVERIFIED: the national drug code (mã thuốc of Dược quốc gia) is expected;
                # the project's catalogue code stands in for it.
                "ma_thuoc": local_code,
                "biet_duoc": concept["text"],  # brand name; the generic label when none
                "ten_thuoc": concept["text"],
                "don_vi_tinh": request["dispenseRequest"]["quantity"]["unit"],
                "so_luong": request["dispenseRequest"]["quantity"]["value"],
                "cach_dung": request["dosageInstruction"][0]["text"],
            }
        )
    return {
        "loai_don_thuoc": prescription.code[-1],  # c, n, h or y, as the code ends
        "ma_don_thuoc": prescription.code,
        "ho_ten_benh_nhan": full_name(patient),
        "ma_dinh_danh_y_te": "",  # UNVERIFIED: the health identifier of VNeID, not held here
        "ma_dinh_danh_cong_dan": _identifier(patient, CCCD),
        "ngay_sinh_benh_nhan": _dmy(patient.get("birthDate", "")),  # UNVERIFIED: dd/mm/yyyy
        "can_nang": "",  # required for children under 72 months; not recorded here
        "gioi_tinh": SEX.get(patient.get("gender", ""), 1),
        "ma_so_the_bao_hiem_y_te": _identifier(patient, BHYT),
        "thong_tin_nguoi_giam_ho": "",
        "dia_chi": address_text(patient),
        "chan_doan": [
            {
                "ma_chan_doan": c["coding"][0]["code"],
                "ten_chan_doan": c.get("text") or c["coding"][0].get("display", ""),
                "ket_luan": "",
            }
            for c in prescription.diagnoses
        ],
        "luu_y": "",
        "hinh_thuc_dieu_tri": 1,  # UNVERIFIED: 1 taken to mean outpatient (ngoại trú)
        "thong_tin_don_thuoc": lines,
        "loi_dan": advice,
        "so_dien_thoai_nguoi_kham_benh": phone,
        "ngay_tai_kham": "",
        "ngay_gio_ke_don": in_vietnam(prescription.authored).strftime("%Y-%m-%d %H:%M:%S"),
    }
