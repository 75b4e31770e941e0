"""A client of the BHXH claims gateway (cổng tiếp nhận dữ liệu giám định BHYT): a token, the
check-in table at arrival, and the claim envelopes of QĐ 130/4750.

THE API AS READ, NOT AS PUBLISHED: BHXH's own interface document was not reachable from here.
Every path, field and header below is in this module only, as an open-source HIS (MIT) uses them
(../shared/README.md) and as a public summary of BHXH's guide "Hướng dẫn liên thông dữ liệu phục
vụ việc quản lý, giám định, thanh toán chi phí KCB" (version for QĐ 4750, 2024-05-03) lists them:
- `POST <base>/api/token/take`, form-encoded `username` and `password` = the MD5 of the password,
  hex, upper case; the answer carries `maKetQua`, `access_token`, `id_token`, `token_type`,
  `username`, `expires_in` (top level, or inside `APIKey` as some answers nest them);
- `POST <base>/api/qd130/checkInKcbQd4750` (the check-in table, `loaiHoSo` "0") and
  `POST <base>/api/qd130/guiHoSoXmlQD4750` (a claim envelope, `loaiHoSo` "130"), form-encoded
  `username`, `loaiHoSo`, `maTinh` (the facility's province, 2 digits), `maCSKCB` (its 5-character
  code) and `fileHSBase64` (the base64 of the XML), with the headers `accessToken`, `tokenId`
  (the `id_token`) and `passwordHash`; the answer carries `maKetQua` ("200" received; 401
  unauthenticated, 403 unauthorised, others), `maGiaoDich` (the transaction code, kept for
  reconciliation), `thoiGianTiepNhan` (yyyyMMddHHmmss) and `thongDiep` (the message, with the
  error when there is one).

The password is sent only as its MD5, as the gateway asks; it is never logged, printed or stored
(`Settings.bhxh_password` is left out of the settings' repr). A token is asked for once per
client and again when the gateway answers 401.
"""

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from songkhoe.config import Settings

TOKEN_PATH = "/api/token/take"
CHECKIN_PATH = "/api/qd130/checkInKcbQd4750"
CLAIM_PATH = "/api/qd130/guiHoSoXmlQD4750"
CHECKIN_KIND = "0"
CLAIM_KIND = "130"
RECEIVED = "200"
UNAUTHENTICATED = "401"
TIMEOUT_S = 30.0


class GatewayError(Exception):
    """The gateway could not be asked, or refused the facility's account; nothing was received."""


class NoAnswer(GatewayError):
    """The request went out but no readable answer came back: it may have been received."""


@dataclass(frozen=True)
class Answer:
    """The gateway's answer to one file."""

    code: str  # maKetQua
    transaction: str  # maGiaoDich
    received_at: datetime | None  # thoiGianTiepNhan
    message: str  # thongDiep

    @property
    def accepted(self) -> bool:
        return self.code == RECEIVED


def password_hash(password: str) -> str:
    """The password as the gateway takes it: MD5, hex, upper case."""
    return hashlib.md5(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def _received_at(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S")
    except ValueError:
        return None


def _json(response: httpx.Response, what: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise NoAnswer(f"{what}: HTTP {response.status_code}, not a JSON answer") from None
    if not isinstance(body, dict):
        raise NoAnswer(f"{what}: HTTP {response.status_code}, not a JSON object")
    return body


@dataclass(frozen=True)
class Sender:
    """Who sends: the facility's BHYT code and the 2 digits of its province (maTinh)."""

    code: str
    province: str


class GatewayClient:
    """One facility's session with the gateway (`with GatewayClient(...) as gateway:`)."""

    def __init__(
        self, base_url: str, username: str, password: str, *, transport: Any = None
    ) -> None:
        if not base_url:
            raise GatewayError("SONGKHOE_BHXH_URL is not set: the gateway's base URL")
        if not username or not password:
            raise GatewayError("SONGKHOE_BHXH_USERNAME and SONGKHOE_BHXH_PASSWORD must be set")
        self._username = username
        self._hash = password_hash(password)
        self._token: tuple[str, str] | None = None
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=TIMEOUT_S, transport=transport
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "GatewayClient":
        return cls(settings.bhxh_url, settings.bhxh_username, settings.bhxh_password)

    def __enter__(self) -> "GatewayClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def _post(self, path: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.post(path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            reason = type(exc).__name__
            raise GatewayError(f"{what}: the gateway could not be reached ({reason})") from None
        except httpx.HTTPError as exc:  # sent, or partly: the gateway may have it
            raise NoAnswer(f"{what}: no answer from the gateway ({type(exc).__name__})") from None

    def _take_token(self) -> tuple[str, str]:
        data = {"username": self._username, "password": self._hash}
        try:
            body = _json(self._post(TOKEN_PATH, "token", data=data), "token")
        except NoAnswer as exc:  # no token, so no claim went out
            raise GatewayError(str(exc)) from None
        nested = body.get("APIKey")
        key: dict[str, Any] = nested if isinstance(nested, dict) else body
        access, identity = key.get("access_token"), key.get("id_token")
        if str(body.get("maKetQua", "")) != RECEIVED or not access or not identity:
            raise GatewayError(f"token refused: maKetQua {body.get('maKetQua')!r}")
        return str(access), str(identity)

    def _send(self, path: str, kind: str, xml: bytes, sender: Sender) -> Answer:
        for attempt in (1, 2):
            if self._token is None:
                self._token = self._take_token()
            access, identity = self._token
            headers = {"accessToken": access, "tokenId": identity, "passwordHash": self._hash}
            data = {
                "username": self._username,
                "loaiHoSo": kind,
                "maTinh": sender.province,
                "maCSKCB": sender.code,
                "fileHSBase64": base64.b64encode(xml).decode("ascii"),
            }
            body = _json(self._post(path, "send", data=data, headers=headers), "send")
            code = str(body.get("maKetQua", ""))
            if code == UNAUTHENTICATED and attempt == 1:
                self._token = None  # expired: one new token, then the answer stands
                continue
            return Answer(
                code=code,
                transaction=str(body.get("maGiaoDich") or ""),
                received_at=_received_at(str(body.get("thoiGianTiepNhan") or "")),
                message=str(body.get("thongDiep") or ""),
            )
        raise AssertionError("unreachable")  # the loop returns on its second pass

    def check_in(self, checkin_xml: bytes, sender: Sender) -> Answer:
        """Send a visit's check-in table (CHI_TIEU_TRANG_THAI_KCB) at arrival."""
        return self._send(CHECKIN_PATH, CHECKIN_KIND, checkin_xml, sender)

    def send_claim(self, envelope: bytes, sender: Sender) -> Answer:
        """Send one signed claim envelope (GIAMDINHHS)."""
        return self._send(CLAIM_PATH, CLAIM_KIND, envelope, sender)
