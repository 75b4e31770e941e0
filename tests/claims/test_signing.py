"""The facility's signature of a claims envelope: it verifies with its certificate, and any
changed byte of what it signs, a wrong certificate or a misplaced signature fails."""

import base64
import dataclasses
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree
from signxml import XMLSigner

from songkhoe.claims.signing import (
    Signer,
    SigningError,
    Verification,
    load_signer,
    sign_envelope,
    verify_envelope,
)
from songkhoe.config import get_settings

from .conftest import FACILITY_SUBJECT, Identity


def envelope(*, signature_slot: str = "<CHUKYDONVI></CHUKYDONVI>") -> bytes:
    table = base64.b64encode(
        "<TONG_HOP><MA_LK>LK1</MA_LK><HO_TEN>Lê Thị B</HO_TEN></TONG_HOP>".encode()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><GIAMDINHHS>'
        "<THONGTINDONVI><MACSKCB>01001</MACSKCB></THONGTINDONVI>"
        "<THONGTINHOSO><NGAYLAP>20241106</NGAYLAP><SOLUONGHOSO>1</SOLUONGHOSO>"
        "<DANHSACHHOSO><HOSO><FILEHOSO><LOAIHOSO>XML1</LOAIHOSO>"
        f"<NOIDUNGFILE>{table.decode()}</NOIDUNGFILE></FILEHOSO></HOSO></DANHSACHHOSO>"
        f"</THONGTINHOSO>{signature_slot}</GIAMDINHHS>"
    ).encode()


@pytest.fixture(scope="module")
def signed(facility: Identity) -> bytes:
    return sign_envelope(envelope(), facility.key_pem, facility.cert_pem)


def test_a_signed_envelope_verifies_with_its_certificate(signed: bytes, facility: Identity) -> None:
    assert verify_envelope(signed, facility.cert_pem) == Verification(
        True, FACILITY_SUBJECT, "verified with the certificate given"
    )
    assert b"<CHUKYDONVI><ds:Signature" in signed
    assert b'Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"' in signed
    assert b'<ds:Reference URI="">' in signed


def test_without_a_certificate_the_embedded_one_is_said_to_be_self_asserted(signed: bytes) -> None:
    assert verify_envelope(signed) == Verification(
        True, FACILITY_SUBJECT, "verified with its embedded certificate only (self-asserted)"
    )


def test_every_changed_byte_of_the_signed_content_fails(signed: bytes, facility: Identity) -> None:
    """Each byte from the root's start tag up to CHUKYDONVI, XOR 1: a changed character (or
    unreadable XML); none of them leaves the envelope verifying."""
    start, end = signed.index(b"<GIAMDINHHS>"), signed.index(b"<CHUKYDONVI>")
    still_valid = []
    for at in range(start, end):
        changed = signed[:at] + bytes([signed[at] ^ 1]) + signed[at + 1 :]
        if verify_envelope(changed, facility.cert_pem).valid:
            still_valid.append(at)
    assert end - start > 300
    assert still_valid == []


def test_a_changed_value_says_the_digest_does_not_match(signed: bytes, facility: Identity) -> None:
    changed = signed.replace(b"<MACSKCB>01001<", b"<MACSKCB>01002<")
    result = verify_envelope(changed, facility.cert_pem)
    assert (result.valid, result.message) == (
        False,
        "the content changed after it was signed (the digest does not match)",
    )


def test_a_changed_signature_value_fails(signed: bytes, facility: Identity) -> None:
    value = re.search(rb"<ds:SignatureValue>(.)", signed)
    assert value is not None
    at = value.start(1)
    changed = signed[:at] + (b"B" if signed[at : at + 1] != b"B" else b"C") + signed[at + 1 :]
    result = verify_envelope(changed, facility.cert_pem)
    assert not result.valid
    assert result.message == "the signature value does not verify with the certificate's key"


def test_a_wrong_certificate_fails(signed: bytes, stranger: Identity) -> None:
    result = verify_envelope(signed, stranger.cert_pem)
    assert not result.valid
    assert result.signer == "CN=Someone else,O=Sống Khỏe,C=VN"
    assert result.message == "the signature value does not verify with the certificate's key"


def test_an_unsigned_envelope_says_so(facility: Identity) -> None:
    assert verify_envelope(envelope(), facility.cert_pem) == Verification(
        False, "", "unsigned: no signature in CHUKYDONVI"
    )


def test_a_signature_outside_chukydonvi_is_refused(signed: bytes, facility: Identity) -> None:
    """Moved to the root, the same signature still covers the same bytes, but it is not where
    the envelope's signature goes."""
    match = re.search(rb"<CHUKYDONVI>(.*)</CHUKYDONVI>", signed, re.S)
    assert match is not None
    moved = signed.replace(match.group(0), b"<CHUKYDONVI/>").replace(
        b"</GIAMDINHHS>", match.group(1) + b"</GIAMDINHHS>"
    )
    assert verify_envelope(moved, facility.cert_pem) == Verification(
        False, "", "the envelope must hold exactly one signature, in CHUKYDONVI"
    )


def test_a_missing_chukydonvi_is_added_at_the_end(facility: Identity) -> None:
    signed = sign_envelope(envelope(signature_slot=""), facility.key_pem, facility.cert_pem)
    assert signed.endswith(b"</ds:Signature></CHUKYDONVI></GIAMDINHHS>")
    assert verify_envelope(signed, facility.cert_pem).valid


def test_one_signer_signs_many_envelopes(facility: Identity) -> None:
    signer = Signer(facility.key_pem, facility.cert_pem)
    assert signer.subject == FACILITY_SUBJECT
    for _ in range(3):
        assert verify_envelope(signer.sign(envelope()), facility.cert_pem).valid


def test_an_envelope_is_signed_once(signed: bytes, facility: Identity) -> None:
    with pytest.raises(
        SigningError, match="CHUKYDONVI is not empty: the envelope is already signed"
    ):
        sign_envelope(signed, facility.key_pem, facility.cert_pem)


def test_what_cannot_be_signed_says_why(facility: Identity, stranger: Identity) -> None:
    with pytest.raises(SigningError, match="the certificate is not the key's"):
        Signer(facility.key_pem, stranger.cert_pem)
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningError, match="an RSA key is needed for RSA-SHA256"):
        Signer(ec_key, facility.cert_pem)
    with pytest.raises(SigningError, match="the root element is TONG_HOP, not GIAMDINHHS"):
        sign_envelope(b"<TONG_HOP/>", facility.key_pem, facility.cert_pem)


def test_an_expired_certificate_does_not_sign(make_identity) -> None:
    expired = make_identity("Trạm Y tế xã Test", days=-1)
    with pytest.raises(SigningError, match="^the certificate expired on "):
        Signer(expired.key_pem, expired.cert_pem)


def test_the_signer_comes_from_the_settings(tmp_path, monkeypatch, facility: Identity) -> None:
    (tmp_path / "key.pem").write_bytes(facility.key_pem)
    (tmp_path / "cert.pem").write_bytes(facility.cert_pem)
    monkeypatch.setenv("SONGKHOE_BHYT_KEY", str(tmp_path / "key.pem"))
    monkeypatch.setenv("SONGKHOE_BHYT_CERT", str(tmp_path / "cert.pem"))
    settings = get_settings()
    assert settings.bhyt_signing_cert == tmp_path / "cert.pem"
    assert load_signer(settings).subject == FACILITY_SUBJECT


def test_a_missing_or_unreadable_file_is_named(tmp_path, monkeypatch, facility: Identity) -> None:
    monkeypatch.delenv("SONGKHOE_BHYT_KEY", raising=False)
    monkeypatch.delenv("SONGKHOE_BHYT_CERT", raising=False)
    with pytest.raises(SigningError, match="^SONGKHOE_BHYT_KEY is not set: the PEM private key"):
        load_signer(get_settings())
    (tmp_path / "key.pem").write_bytes(facility.key_pem)
    settings = dataclasses.replace(
        get_settings(), bhyt_signing_key=tmp_path / "key.pem", bhyt_signing_cert=tmp_path / "no.pem"
    )
    with pytest.raises(SigningError) as error:
        load_signer(settings)
    assert str(error.value) == (
        f"SONGKHOE_BHYT_CERT: cannot read {tmp_path / 'no.pem'}: No such file or directory"
    )


def test_a_signature_of_part_of_the_envelope_is_refused(facility: Identity) -> None:
    """Signed by reference to one element (URI="#part"), the rest could change unnoticed."""
    content = envelope(signature_slot=(
        '<CHUKYDONVI><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="placeholder"/>'
        "</CHUKYDONVI>"
    )).replace(b"<THONGTINDONVI>", b'<THONGTINDONVI Id="part">')  # fmt: skip
    partial = XMLSigner().sign(
        etree.fromstring(content),
        key=facility.key_pem,
        cert=facility.cert_pem.decode(),
        reference_uri="#part",
    )
    result = verify_envelope(etree.tostring(partial), facility.cert_pem)
    assert result == Verification(
        False, FACILITY_SUBJECT, "the signature does not cover the whole envelope"
    )


def test_signxml_verifies_what_the_signer_makes_and_both_verifiers_agree(
    signed: bytes, facility: Identity
) -> None:
    """The signature `Signer` assembles is a standard one: signxml's own verifier accepts it, and
    a signature signxml makes in the same profile is accepted by `verify_envelope`'s own path;
    tampered, both refuse it."""
    from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLVerifier

    cert = facility.cert_pem.decode()
    XMLVerifier().verify(signed, x509_cert=cert)  # raises if it does not verify
    made_by_signxml = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,
    ).sign(etree.fromstring(envelope()), key=facility.key_pem, cert=cert)
    slot = made_by_signxml.find("CHUKYDONVI")
    slot.append(made_by_signxml[-1])  # signxml appends at the root's end: move it into the slot
    theirs = etree.tostring(made_by_signxml)
    assert verify_envelope(theirs, facility.cert_pem).valid
    for document in (signed, theirs):
        tampered = document.replace(b"<NGAYLAP>20241106<", b"<NGAYLAP>20241107<")
        assert not verify_envelope(tampered, facility.cert_pem).valid
        with pytest.raises(Exception, match="[Dd]igest"):
            XMLVerifier().verify(tampered, x509_cert=cert)
