"""A client of Vietnam's national e-prescription system (Hệ thống thông tin quốc gia về quản lý
kê đơn thuốc và bán thuốc theo đơn, donthuocquocgia.vn), which Thông tư 27/2021/TT-BYT obliges
prescribers to send their e-prescriptions to; the connection guide is the one issued with
Quyết định 808/QĐ-BYT (01/04/2022).

THE API AS READ IN INDEPENDENT CLIENTS, NOT IN THE DECISION: the guide itself was not reachable
from here. Every path, field and header is in this module only, as public client code found with
the project's code search uses them (the numbers are the stored file ids of that index, which does
not name their repositories; ../shared/README.md lists the same names):
- facility log-in: `POST /api/auth/dang-nhap-co-so-kham-chua-benh`, JSON
  `ma_lien_thong_co_so_kham_chua_benh` + `password`, answered `token` and `token_type` "bearer"
  (three C# and Java clients: 43861492032, 35338871761, 65719149824);
- the facility adds a doctor: `POST /api/v1/them-bac-si`, the facility's bearer token, JSON
  `ma_lien_thong_bac_si` (37523490437, 43861492032; a third client, 35338871761, also sends the
  facility code and a password: UNVERIFIED which is required);
- doctor log-in: `POST /api/auth/dang-nhap-bac-si`, JSON `ma_lien_thong_bac_si`, `password`,
  `ma_lien_thong_co_so_kham_chua_benh`, answered `token` (33331522644, 39868492326, 35338871761);
- send: `POST /api/v1/gui-don-thuoc`, the DOCTOR's bearer token (the three clients above), the
  JSON of `export.national_payload`; received: HTTP 200 with `success` (a message); refused:
  `error` (33331522644) or HTTP 422 with `danh_sach_cac_loi` (65747612021, which also reads that
  a code sent before is refused: "Đơn thuốc đã được sử dụng trước đó");
- look-up: `GET /api/v1/thong-tin-don-thuoc/{ma_don_thuoc}` with the headers `app-name` and
  `app-key` issued to the software (mục VIII of the guide as 70577067377 quotes it; also
  5710072566, 35779258864): the prescription as the system holds it, 404 when it holds none.
  That client notes that mục VIII gives www.donthuocquocgia.vn as the base where the
  prescribers' APIs use api.donthuocquocgia.vn: UNVERIFIED; one base URL serves both here.
No prescriber-side correction was found: `POST /api/v1/cap-nhat-don-thuoc` (mục IX) is the
pharmacy's report of the quantities sold (70577067377, 4200229330, 55592429801), not an update of
the prescription, and no "sửa" or "huỷ đơn thuốc" endpoint occurs in any client searched. A
rejected prescription is corrected and sent again under its code (songkhoe.prescribing.national).

Retries only where safe: a request that never reached the system (no connection) is tried three
times; the log-ins and the look-up, which change nothing there, also after a timeout or a 502,
503 or 504. A prescription sent without an answer is never sent again by this client: whether it
arrived is unknown (`NoAnswer`) until a look-up says. Passwords go only into the log-in bodies:
never into a message, a log line or a repr.
"""

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from songkhoe.config import Settings

FACILITY_LOGIN = "/api/auth/dang-nhap-co-so-kham-chua-benh"
ADD_DOCTOR = "/api/v1/them-bac-si"
DOCTOR_LOGIN = "/api/auth/dang-nhap-bac-si"
SEND = "/api/v1/gui-don-thuoc"
LOOKUP = "/api/v1/thong-tin-don-thuoc/"
FACILITY_FIELD = "ma_lien_thong_co_so_kham_chua_benh"
DOCTOR_FIELD = "ma_lien_thong_bac_si"
PASSWORD_FIELD = "password"
TOKEN_FIELD = "token"
APP_NAME_HEADER = "app-name"
APP_KEY_HEADER = "app-key"
HEADLINE_FIELDS = ("error", "success", "message", "thong_bao")  # where an answer says why
ERRORS_FIELD = "danh_sach_cac_loi"
TIMEOUT_S = 20.0
ATTEMPTS = 3
BACKOFF_S = (0.2, 1.0)  # waits before the second and the third attempt
TRANSIENT_STATUS = frozenset({502, 503, 504})


class NationalError(Exception):
    """The national system could not be asked, or gave no usable answer; the message says which
    step failed and why."""


class Unreachable(NationalError):
    """Nothing reached the system (no connection): safe to try again later."""


class NoAnswer(NationalError):
    """The request may have reached the system, but no answer came back: its outcome is
    unknown until a look-up says."""


class Refused(NationalError):
    """The system answered no; `message` is its own text."""

    def __init__(self, step: str, status: int, message: str) -> None:
        super().__init__(f"{step}: refused (HTTP {status}): {message}")
        self.status = status
        self.message = message


class NotConfigured(NationalError):
    """A setting the connection needs is empty; the message names it."""


@dataclass(frozen=True, slots=True)
class Received:
    """The system's answer to a prescription it took: its message (`success`)."""

    message: str


def _message(body: Any) -> str:
    """The system's own words in an answer body (a string, a list, or an object): its headline
    (`error`, `success`, `message`), then the list of errors (`danh_sach_cac_loi`) if any."""
    if isinstance(body, str):
        return body.strip()
    if isinstance(body, list):
        return "; ".join(m for m in (_message(item) for item in body) if m)
    if not isinstance(body, dict):
        return "" if body is None else str(body)
    headline = next((_message(body[k]) for k in HEADLINE_FIELDS if body.get(k)), "")
    details = _message(body.get(ERRORS_FIELD))
    if headline or details:
        return ": ".join(part for part in (headline, details) if part)
    return "; ".join(f"{k}: {_message(v)}" for k, v in body.items() if _message(v))


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class NationalClient:
    """One facility's connection to the national system (`with NationalClient(...) as client:`)."""

    def __init__(
        self,
        base_url: str,
        facility_code: str,
        facility_password: str,
        *,
        app_name: str = "",
        app_key: str = "",
        timeout_s: float = TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise NotConfigured("SONGKHOE_DTQG_URL is not set: the national system's base URL")
        if not facility_code or not facility_password:
            raise NotConfigured(
                "SONGKHOE_DTQG_FACILITY_CODE and SONGKHOE_DTQG_FACILITY_PASSWORD must be set"
            )
        self.facility_code = facility_code
        self._facility_password = facility_password
        self._app = {APP_NAME_HEADER: app_name, APP_KEY_HEADER: app_key}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, transport=transport
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "NationalClient":
        return cls(
            settings.dtqg_url,
            settings.dtqg_facility_code,
            settings.dtqg_facility_password,
            app_name=settings.dtqg_app_name,
            app_key=settings.dtqg_app_key,
        )

    def __enter__(self) -> "NationalClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"NationalClient({str(self._http.base_url)!r}, {self.facility_code!r})"

    def _request(
        self, step: str, method: str, path: str, *, safe: bool, **kwargs: Any
    ) -> httpx.Response:
        """One request, tried again only where that is safe (module docstring)."""
        for attempt in range(1, ATTEMPTS + 1):
            last = attempt == ATTEMPTS
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if last:
                    raise Unreachable(f"{step}: the national system could not be reached "
                                      f"({type(exc).__name__})") from None  # fmt: skip
            except httpx.HTTPError as exc:
                if last or not safe:
                    raise NoAnswer(f"{step}: no answer from the national system "
                                   f"({type(exc).__name__})") from None  # fmt: skip
            else:
                if response.status_code not in TRANSIENT_STATUS or not safe or last:
                    return response
            time.sleep(BACKOFF_S[attempt - 1])
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _token(self, step: str, path: str, body: dict[str, str]) -> str:
        response = self._request(step, "POST", path, safe=True, json=body)
        answer = _body(response)
        token = answer.get(TOKEN_FIELD) if isinstance(answer, dict) else None
        if response.status_code != 200 or not token:
            raise Refused(step, response.status_code, _message(answer) or "no token")
        return str(token)

    def facility_token(self) -> str:
        """The facility's token (log-in with the facility's code and password)."""
        body = {FACILITY_FIELD: self.facility_code, PASSWORD_FIELD: self._facility_password}
        return self._token("facility log-in", FACILITY_LOGIN, body)

    def add_doctor(self, facility_token: str, doctor_code: str) -> None:
        """Register a doctor's national code with the facility (them-bac-si)."""
        response = self._request(
            "adding the doctor", "POST", ADD_DOCTOR, safe=False, json={DOCTOR_FIELD: doctor_code},
            headers={"Authorization": f"Bearer {facility_token}"},
        )  # fmt: skip
        answer = _body(response)
        if response.status_code != 200 or (isinstance(answer, dict) and answer.get("error")):
            raise Refused("adding the doctor", response.status_code, _message(answer))

    def doctor_token(self, doctor_code: str, password: str) -> str:
        """A doctor's token: their national code and password, at this facility."""
        body = {DOCTOR_FIELD: doctor_code, PASSWORD_FIELD: password,
                FACILITY_FIELD: self.facility_code}  # fmt: skip
        return self._token("doctor log-in", DOCTOR_LOGIN, body)

    def send(self, doctor_token: str, payload: dict) -> Received:
        """Send one prescription (gửi đơn thuốc); Refused with the system's message if not
        taken, NoAnswer if its fate is unknown."""
        response = self._request(
            "sending", "POST", SEND, safe=False, json=payload,
            headers={"Authorization": f"Bearer {doctor_token}"},
        )  # fmt: skip
        answer = _body(response)
        if response.status_code >= 500:
            raise NoAnswer(f"sending: HTTP {response.status_code} from the national system")
        refused = not isinstance(answer, dict) or any(
            answer.get(key) for key in ("error", ERRORS_FIELD)
        )
        if response.status_code != 200 or refused:
            raise Refused("sending", response.status_code, _message(answer) or "no reason given")
        return Received(_message(answer.get("success")))

    def lookup(self, code: str) -> dict | None:
        """The prescription as the system holds it, None if it holds none by that code."""
        if not all(self._app.values()):
            raise NotConfigured("SONGKHOE_DTQG_APP_NAME and SONGKHOE_DTQG_APP_KEY must be set "
                                "to look a prescription up")  # fmt: skip
        path = LOOKUP + quote(code, safe="")
        response = self._request("look-up", "GET", path, safe=True, headers=self._app)
        answer = _body(response)
        if response.status_code == 404:
            return None
        if response.status_code != 200 or not isinstance(answer, dict):
            raise Refused("look-up", response.status_code, _message(answer) or "no answer")
        return answer
