"""A STAND-IN for the BHXH claims gateway, for the tests: not BHXH's server, which cannot be
reached from here. It follows the requests and answers that songkhoe.claims.gateway documents
(token, check-in, claim upload; form-encoded bodies, the accessToken / tokenId / passwordHash
headers, maKetQua / maGiaoDich / thoiGianTiepNhan / thongDiep answers) and refuses what does not
follow them. Its own verdict on a claim is the test's: the MA_LKs in `rejections` are refused
with the message given, every other readable envelope is received."""

import base64
import hashlib
import itertools
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs
from xml.etree import ElementTree

from ..standin_server import serve as serve_answers

USERNAME, PASSWORD = "27001_BV", "mật khẩu thử"
PASSWORD_MD5 = hashlib.md5(PASSWORD.encode()).hexdigest().upper()
FORM = "application/x-www-form-urlencoded"


@dataclass
class Received:
    path: str
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class StandInGateway:
    rejections: dict[str, str] = field(default_factory=dict)  # MA_LK -> thongDiep
    received: list[Received] = field(default_factory=list)
    tokens_given: int = 0
    expire_next_token: bool = False  # the next upload answers 401 once
    _serial: itertools.count = field(default_factory=lambda: itertools.count(1))
    _tokens: set[str] = field(default_factory=set)

    def answer(self, path: str, form: dict[str, str], headers: dict[str, str]) -> dict:
        self.received.append(Received(path, form, headers))
        if path == "/api/token/take":
            if form.get("username") != USERNAME or form.get("password") != PASSWORD_MD5:
                return {"maKetQua": "401"}
            self.tokens_given += 1
            token = f"access-{self.tokens_given}"
            self._tokens.add(token)
            key = {"access_token": token, "id_token": f"id-{token}", "token_type": "bearer",
                   "username": USERNAME, "expires_in": "2026-12-31"}  # fmt: skip
            return {"maKetQua": "200", "APIKey": key}
        if path not in ("/api/qd130/checkInKcbQd4750", "/api/qd130/guiHoSoXmlQD4750"):
            return {"maKetQua": "404", "thongDiep": "không có dịch vụ này"}
        token = headers.get("accesstoken", "")
        if self.expire_next_token:
            self.expire_next_token = False
            self._tokens.discard(token)
        if (token not in self._tokens or headers.get("tokenid") != f"id-{token}"
                or headers.get("passwordhash") != PASSWORD_MD5):  # fmt: skip
            return {"maKetQua": "401", "thongDiep": "Lỗi xác thực tài khoản"}
        kind = "0" if path.endswith("checkInKcbQd4750") else "130"
        if form.get("username") != USERNAME or form.get("loaiHoSo") != kind:
            return {"maKetQua": "205", "thongDiep": "Lỗi sai định dạng tham số"}
        try:
            root = ElementTree.fromstring(base64.b64decode(form["fileHSBase64"], validate=True))
        except (KeyError, ValueError, ElementTree.ParseError):
            return {"maKetQua": "205", "thongDiep": "fileHSBase64 không đọc được"}
        keys = [e.text or "" for e in root.iter("MA_LK")] or inner_keys(root)
        refused = [self.rejections[k] for k in keys if k in self.rejections]
        base = {"maGiaoDich": f"GD{next(self._serial):08d}", "thoiGianTiepNhan": "20261208093015"}
        if refused:
            return {**base, "maKetQua": "500", "thongDiep": refused[0]}
        return {**base, "maKetQua": "200", "thongDiep": "Tiếp nhận thành công"}


def inner_keys(envelope: ElementTree.Element) -> list[str]:
    """The MA_LK of each claim, from the base64 tables inside a GIAMDINHHS envelope."""
    keys = []
    for item in envelope.iter("FILEHOSO"):
        if (item.findtext("LOAIHOSO") or "") == "XML1":
            table = ElementTree.fromstring(base64.b64decode(item.findtext("NOIDUNGFILE") or ""))
            keys += [e.text or "" for e in table.iter("MA_LK")]
    return keys


def serve(gateway: StandInGateway) -> tuple[ThreadingHTTPServer, str]:
    """Start the stand-in on a free local port; its base URL."""

    def answer(method: str, path: str, headers: dict[str, str], body: str) -> tuple[int, dict]:
        if method != "POST":
            return 405, {"maKetQua": "405"}
        if headers.get("content-type", "").split(";")[0] != FORM:
            return 415, {"maKetQua": "415"}
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        return 200, gateway.answer(path, form, headers)

    return serve_answers(answer)
