"""A STAND-IN for Vietnam's national e-prescription system, for the tests: not the Ministry's
server (donthuocquocgia.vn), which cannot be reached from here. It follows the requests and
answers that songkhoe.prescribing.national_client documents (JSON bodies, the facility's and the
doctor's bearer tokens, the app-name / app-key headers of a look-up; `token`, `success`, `error`,
`danh_sach_cac_loi` answers), records what it receives and refuses what does not follow them.

Its verdicts are the test's own rules, not the national system's: a doctor logs in only once
added to the facility; a prescription without `ma_dinh_danh_cong_dan` is refused (HTTP 422, with
the field named in `danh_sach_cac_loi`), as is a code it has taken before."""

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from ..standin_server import serve as serve_answers

FACILITY, FACILITY_PASSWORD = "0130009", "mật khẩu cơ sở"
APP_NAME, APP_KEY = "songkhoe-thu", "khoa-ung-dung-thu"
DOCTOR, DOCTOR_PASSWORD = "01001471HD-CCHN", "mật khẩu bác sĩ"
CODE = re.compile(r"[0-9a-zA-Z]{12}-[cnhy]")
PAYLOAD_FIELDS = {  # ../shared/README.md, "National e-prescription system"
    "loai_don_thuoc", "ma_don_thuoc", "ho_ten_benh_nhan", "ma_dinh_danh_cong_dan",
    "ngay_sinh_benh_nhan", "can_nang", "gioi_tinh", "ma_so_the_bao_hiem_y_te", "dia_chi",
    "chan_doan", "thong_tin_don_thuoc", "loi_dan", "ngay_tai_kham", "ngay_gio_ke_don",
}  # fmt: skip
LINE_FIELDS = {"ma_thuoc", "biet_duoc", "ten_thuoc", "don_vi_tinh", "so_luong", "cach_dung"}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any


@dataclass
class StandIn:
    accounts: dict[str, str] = field(default_factory=lambda: {DOCTOR: DOCTOR_PASSWORD})
    at_facility: set[str] = field(default_factory=set)  # doctors the facility has added
    held: dict[str, dict] = field(default_factory=dict)  # prescriptions taken, by code
    received: list[Received] = field(default_factory=list)
    slow_next_send_s: float = 0.0  # the next prescription is taken, then answered this late
    fail_next_send: bool = False  # the next prescription is answered 503 and not taken
    _tokens: dict[str, str] = field(default_factory=dict)  # token -> "facility" or a doctor
    _serial: itertools.count = field(default_factory=lambda: itertools.count(1))

    def paths(self) -> list[str]:
        return [r.path for r in self.received]

    def _token(self, owner: str) -> dict:
        token = f"tok-{next(self._serial)}"
        self._tokens[token] = owner
        return {"token": token, "token_type": "bearer", "expires_in": 604800}

    def _bearer(self, headers: dict[str, str]) -> str | None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        return self._tokens.get(token) if scheme == "Bearer" else None

    def answer(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, Any]:
        self.received.append(Received(method, path, headers, body))
        if method == "GET" and path.startswith("/api/v1/thong-tin-don-thuoc/"):
            if (headers.get("app-name"), headers.get("app-key")) != (APP_NAME, APP_KEY):
                return 401, {"error": "app-name hoặc app-key không đúng"}
            code = path.rsplit("/", 1)[1]
            if code not in self.held:
                return 404, {"error": "Không tìm thấy đơn thuốc"}
            return 200, self.held[code]
        if headers.get("content-type", "").split(";")[0] != "application/json":
            return 415, {"error": "Content-Type phải là application/json"}
        if not isinstance(body, dict):
            return 400, {"error": "JSON không hợp lệ"}
        if path == "/api/auth/dang-nhap-co-so-kham-chua-benh":
            expected = {
                "ma_lien_thong_co_so_kham_chua_benh": FACILITY,
                "password": FACILITY_PASSWORD,
            }
            if body != expected:
                return 401, {"error": "Mã liên thông cơ sở hoặc mật khẩu không đúng"}
            return 200, self._token("facility")
        if path == "/api/v1/them-bac-si":
            if self._bearer(headers) != "facility":
                return 401, {"error": "Unauthenticated."}
            doctor = body.get("ma_lien_thong_bac_si", "")
            if doctor not in self.accounts:
                return 422, {"error": {"ma_lien_thong_bac_si": ["Bác sĩ chưa có tài khoản"]}}
            self.at_facility.add(doctor)
            return 200, {"success": "Thêm bác sĩ thành công"}
        if path == "/api/auth/dang-nhap-bac-si":
            doctor = body.get("ma_lien_thong_bac_si", "")
            if (body.get("ma_lien_thong_co_so_kham_chua_benh") != FACILITY
                    or doctor not in self.at_facility
                    or self.accounts.get(doctor) != body.get("password")):  # fmt: skip
                return 401, {"error": "Thông tin đăng nhập bác sĩ không đúng"}
            return 200, self._token(doctor)
        if path == "/api/v1/gui-don-thuoc":
            return self._prescription(headers, body)
        return 404, {"error": "Không có API này"}

    def _prescription(self, headers: dict[str, str], body: dict) -> tuple[int, Any]:
        if self._bearer(headers) in (None, "facility"):
            return 401, {"error": "Unauthenticated."}
        missing = sorted(PAYLOAD_FIELDS - body.keys()) + sorted(
            f"thong_tin_don_thuoc.{name}"
            for line in body.get("thong_tin_don_thuoc", [])
            for name in LINE_FIELDS - line.keys()
        )
        if missing:
            return 422, {"error": "Thiếu trường", "danh_sach_cac_loi": missing}
        code = body["ma_don_thuoc"]
        if not CODE.fullmatch(code) or code[-1] != body["loai_don_thuoc"]:
            return 422, {"danh_sach_cac_loi": ["ma_don_thuoc: không đúng định dạng"]}
        if code in self.held:
            return 422, {"success": "Đơn thuốc đã được sử dụng trước đó",
                         "danh_sach_cac_loi": ["ma_don_thuoc: đã tồn tại"]}  # fmt: skip
        if not body["ma_dinh_danh_cong_dan"]:
            return 422, {"error": "Dữ liệu không hợp lệ", "danh_sach_cac_loi": [
                "ma_dinh_danh_cong_dan: Mã định danh công dân không được để trống"]}  # fmt: skip
        if self.fail_next_send:
            self.fail_next_send = False
            return 503, "Service Unavailable"
        self.held[code] = body
        delay, self.slow_next_send_s = self.slow_next_send_s, 0.0
        time.sleep(delay)
        return 200, {"success": "Gửi đơn thuốc thành công", "checksum": f"ck-{len(self.held)}"}


def serve(standin: StandIn) -> tuple[ThreadingHTTPServer, str]:
    """Start the stand-in on a free local port; its base URL."""

    def answer(method: str, path: str, headers: dict[str, str], raw: str) -> tuple[int, Any]:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        return standin.answer(method, path, headers, body)

    return serve_answers(answer)
