"""The BHXH gateway client (claims.gateway) against the stand-in gateway of this suite
(tests/claims/standin_gateway.py): the documented requests, the answers read back, a token taken
again after a 401, and the password never sent or shown in the clear."""

import base64
from collections.abc import Iterator
from datetime import datetime
from xml.etree import ElementTree

import pytest

from songkhoe.claims.benefit import visit_amounts
from songkhoe.claims.envelope import checkin_document
from songkhoe.claims.fields import field_tables
from songkhoe.claims.gateway import GatewayClient, GatewayError, Sender, password_hash
from songkhoe.claims.signing import Signer, verify_envelope
from songkhoe.claims.tables import checkin_rows, claim_rows

from .claim_examples import FOLLOW_UP
from .standin_gateway import PASSWORD, PASSWORD_MD5, USERNAME, StandInGateway, serve

SENDER = Sender(code="27001", province="27")


def envelope(ma_lk: str) -> bytes:
    xml1 = f"<TONG_HOP><MA_LK>{ma_lk}</MA_LK></TONG_HOP>".encode()
    inner = base64.b64encode(xml1).decode()
    return (
        "<GIAMDINHHS><THONGTINDONVI><MACSKCB>27001</MACSKCB></THONGTINDONVI><THONGTINHOSO>"
        "<NGAYLAP>20261208</NGAYLAP><SOLUONGHOSO>1</SOLUONGHOSO><DANHSACHHOSO><HOSO><FILEHOSO>"
        f"<LOAIHOSO>XML1</LOAIHOSO><NOIDUNGFILE>{inner}</NOIDUNGFILE></FILEHOSO></HOSO>"
        "</DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI/></GIAMDINHHS>"
    ).encode()


@pytest.fixture
def gateway() -> Iterator[tuple[StandInGateway, str]]:
    stand_in = StandInGateway()
    server, url = serve(stand_in)
    yield stand_in, url
    server.shutdown()


def test_the_password_goes_as_its_upper_case_md5():
    # MD5("mật khẩu thử" in UTF-8), written out by hashlib in the stand-in
    assert password_hash(PASSWORD) == PASSWORD_MD5 and PASSWORD_MD5.isupper()


def test_a_claim_is_sent_with_the_documented_request_and_its_answer_read(gateway):
    stand_in, url = gateway
    with GatewayClient(url, USERNAME, PASSWORD) as client:
        answer = client.send_claim(envelope("enc-1"), SENDER)
        again = client.send_claim(envelope("enc-2"), SENDER)
    assert answer.accepted and answer.code == "200" and answer.message == "Tiếp nhận thành công"
    assert answer.transaction == "GD00000001" and again.transaction == "GD00000002"
    assert answer.received_at == datetime(2026, 12, 8, 9, 30, 15)
    token, upload = stand_in.received[0], stand_in.received[1]
    assert token.path == "/api/token/take"
    assert token.form == {"username": USERNAME, "password": PASSWORD_MD5}
    assert upload.path == "/api/qd130/guiHoSoXmlQD4750"
    assert {k: upload.form[k] for k in ("username", "loaiHoSo", "maTinh", "maCSKCB")} == {
        "username": USERNAME, "loaiHoSo": "130", "maTinh": "27", "maCSKCB": "27001"}  # fmt: skip
    assert base64.b64decode(upload.form["fileHSBase64"]) == envelope("enc-1")
    assert (
        upload.headers["accesstoken"] == "access-1" and upload.headers["tokenid"] == "id-access-1"
    )
    assert stand_in.tokens_given == 1, "one token for the session"
    everything_sent = repr([(r.form, r.headers) for r in stand_in.received])
    assert PASSWORD not in everything_sent


def test_a_rejection_carries_the_gateway_message(gateway):
    stand_in, url = gateway
    stand_in.rejections["enc-9"] = "XML1.MA_BENH_CHINH: mã bệnh không hợp lệ"
    with GatewayClient(url, USERNAME, PASSWORD) as client:
        answer = client.send_claim(envelope("enc-9"), SENDER)
    assert not answer.accepted
    assert (answer.code, answer.message) == ("500", "XML1.MA_BENH_CHINH: mã bệnh không hợp lệ")


def test_the_check_in_goes_to_its_own_path_as_kind_0(gateway):
    stand_in, url = gateway
    checkin = b"<CHI_TIEU_TRANG_THAI_KCB><DSACH_TRANG_THAI_KCB><TRANG_THAI_KCB><MA_LK>enc-1</MA_LK>"
    checkin += b"</TRANG_THAI_KCB></DSACH_TRANG_THAI_KCB></CHI_TIEU_TRANG_THAI_KCB>"
    with GatewayClient(url, USERNAME, PASSWORD) as client:
        assert client.check_in(checkin, SENDER).accepted
    assert stand_in.received[-1].path == "/api/qd130/checkInKcbQd4750"
    assert stand_in.received[-1].form["loaiHoSo"] == "0"


def test_an_expired_token_is_taken_again_once(gateway):
    stand_in, url = gateway
    with GatewayClient(url, USERNAME, PASSWORD) as client:
        client.send_claim(envelope("enc-1"), SENDER)
        stand_in.expire_next_token = True
        assert client.send_claim(envelope("enc-2"), SENDER).accepted
    assert stand_in.tokens_given == 2


def test_a_wrong_password_or_no_gateway_is_a_clear_error(gateway):
    _, url = gateway
    with (
        GatewayClient(url, USERNAME, "sai") as client,
        pytest.raises(GatewayError, match="token refused"),
    ):
        client.send_claim(envelope("enc-1"), SENDER)
    with GatewayClient("http://127.0.0.1:9", USERNAME, PASSWORD) as client:
        with pytest.raises(GatewayError, match="could not be reached"):
            client.send_claim(envelope("enc-1"), SENDER)
    with pytest.raises(GatewayError, match="SONGKHOE_BHXH_URL"):
        GatewayClient("", USERNAME, PASSWORD)


def test_a_visits_signed_check_in_table_reaches_the_gateway_at_arrival(gateway, facility):
    """The check-in table of a visit (claims.tables.checkin_rows: XML1's shared fields, no order
    yet), signed in its CHUKYDONVI, goes to the check-in path; what the stand-in received is the
    visit's, and its signature verifies with the facility's certificate."""
    stand_in, url = gateway
    rows = checkin_rows(FOLLOW_UP, visit_amounts(FOLLOW_UP))
    summary = claim_rows(FOLLOW_UP, visit_amounts(FOLLOW_UP))["XML1"][0]
    assert list(rows[0]) == list(field_tables()["CHECKIN"])
    for name in ("MA_LK", "HO_TEN", "MA_THE_BHYT", "MA_DOITUONG_KCB", "NGAY_VAO", "MA_CSKCB"):
        assert rows[0][name] == summary[name] != ""
    assert rows[0]["MA_DICH_VU"] == rows[0]["NGAY_YL"] == ""
    signed = Signer(facility.key_pem, facility.cert_pem).sign(checkin_document(rows))
    with GatewayClient(url, USERNAME, PASSWORD) as client:
        assert client.check_in(signed, Sender(FOLLOW_UP.facility.code, "24")).accepted
    sent = base64.b64decode(stand_in.received[-1].form["fileHSBase64"])
    assert sent == signed and verify_envelope(sent, facility.cert_pem).valid
    assert ElementTree.fromstring(sent).findtext(".//TRANG_THAI_KCB/MA_LK") == FOLLOW_UP.claim_key
