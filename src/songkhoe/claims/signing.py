"""The facility's XML signature of a claims envelope (``GIAMDINHHS/CHUKYDONVI``).

The appendix of QĐ 130/QĐ-BYT says only that the envelope carries the facility's signature in
``CHUKYDONVI``; BHXH's guidance, as read in a public compendium of BHYT rules (not in BHXH's own
document), places the tag at the end of the file, signs with SHA-256 and defers the rest to an XSD
on the gateway that is not public. So this is a standard XML-DSig (W3C XML Signature 1.1), as
Vietnamese HIS vendors produce it: an enveloped signature (Reference URI="" with the
enveloped-signature transform: the whole document but the signature itself) placed in
``CHUKYDONVI``, RSA-SHA256 over SHA-256 digests, the X.509 certificate in ``KeyInfo``.

Canonicalisation is inclusive C14N 1.0: the signed node is the whole document, which declares
no namespaces, so exclusive C14N (made for fragments moved between namespace contexts, as in
SOAP) would change nothing, while C14N 1.0 is the default of .NET's SignedXml and Java's XML-DSig,
the stacks the gateway and most HIS are built on (C14N 1.1, signxml's default, is not in .NET).

``Signer`` loads the key and certificate once and is reused for every envelope of an export.
It assembles the signature itself for this one profile (the digest of the canonical envelope
without its signature, the canonical SignedInfo signed with RSA PKCS#1 v1.5 and SHA-256) rather
than through signxml's general path, which took twice the RSA operation's time; and a signature
of exactly this profile is verified the same way, any other through signxml. The tests check that
signxml verifies what `Signer` makes and that both verifiers agree, valid or tampered.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod, XMLVerifier
from signxml.exceptions import SignXMLException
from signxml.verifier import SignatureConfiguration

from songkhoe.config import Settings

ROOT = "GIAMDINHHS"
ROOTS = (ROOT, "CHI_TIEU_TRANG_THAI_KCB")  # a claims envelope, a check-in table
SIGNATURE_ELEMENT = "CHUKYDONVI"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
_SIGNATURE = f"{{{DSIG}}}Signature"
_C14N = CanonicalizationMethod.CANONICAL_XML_1_0
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_PROFILE = {  # the algorithms of the signatures `Signer` makes
    "CanonicalizationMethod": _C14N.value,
    "SignatureMethod": SignatureMethod.RSA_SHA256.value,
    "DigestMethod": DigestAlgorithm.SHA256.value,
}
_TRANSFORMS = ((_ENVELOPED, _C14N.value), (_ENVELOPED,))
_EXPECTED = SignatureConfiguration(
    location=f"./{SIGNATURE_ELEMENT}/",
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
    # KeyValue beside the certificate is ignored: the key is the certificate's (given or embedded).
    ignore_ambiguous_key_info=True,
)


class SigningError(ValueError):
    """A key, certificate or envelope that cannot be signed with; the message says why."""


@dataclass(frozen=True)
class Verification:
    """The outcome of checking an envelope's signature."""

    valid: bool
    signer: str  # the certificate's subject (RFC 4514), "" when there is none to read
    message: str


def _parser() -> etree.XMLParser:
    """No entities, no network: a claim has no use for a DTD (``check`` refuses one too)."""
    return etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False)


def _envelope(xml: bytes) -> etree._Element:
    if b"<!DOCTYPE" in xml:
        raise SigningError("a DOCTYPE is not allowed in a claims envelope")
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as exc:
        raise SigningError(f"not readable XML ({exc})") from None
    if root.tag not in ROOTS:
        raise SigningError(f"the root element is {root.tag}, not {' or '.join(ROOTS)}")
    return root


class Signer:
    """An RSA key and its certificate, parsed once; ``sign`` signs one envelope with them."""

    def __init__(self, key_pem: bytes, cert_pem: bytes) -> None:
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningError(f"not an unencrypted PEM private key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise SigningError(f"an RSA key is needed for RSA-SHA256, got {type(key).__name__}")
        cert = load_certificate(cert_pem)
        if cert.public_key() != key.public_key():
            raise SigningError("the certificate is not the key's (their public keys differ)")
        if cert.not_valid_after_utc < datetime.now(UTC):
            expired = f"{cert.not_valid_after_utc:%d/%m/%Y %H:%M} UTC"
            raise SigningError(f"the certificate expired on {expired}: no verifier will accept it")
        self._key = key
        self._cert = cert
        self._cert_text = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    @property
    def subject(self) -> str:
        return self._cert.subject.rfc4514_string()

    def sign(self, xml: bytes) -> bytes:
        """The envelope with its signature in CHUKYDONVI (added at the end if missing)."""
        root = _envelope(xml)
        slot = root.find(SIGNATURE_ELEMENT)
        if slot is None:
            slot = etree.SubElement(root, SIGNATURE_ELEMENT)
        elif len(slot) or (slot.text or "").strip():
            raise SigningError(f"{SIGNATURE_ELEMENT} is not empty: the envelope is already signed")
        digest = hashlib.sha256(_canonical(root)).digest()  # the enveloped-signature view
        signature = etree.SubElement(slot, _SIGNATURE, nsmap={"ds": DSIG})
        info = _child(signature, "SignedInfo")
        _child(info, "CanonicalizationMethod", Algorithm=_PROFILE["CanonicalizationMethod"])
        _child(info, "SignatureMethod", Algorithm=_PROFILE["SignatureMethod"])
        reference = _child(info, "Reference", URI="")
        transforms = _child(reference, "Transforms")
        for algorithm in _TRANSFORMS[0]:
            _child(transforms, "Transform", Algorithm=algorithm)
        _child(reference, "DigestMethod", Algorithm=_PROFILE["DigestMethod"])
        _child(reference, "DigestValue").text = base64.b64encode(digest).decode()
        value = self._key.sign(_canonical(info), padding.PKCS1v15(), hashes.SHA256())
        _child(signature, "SignatureValue").text = base64.b64encode(value).decode()
        certificate = _child(_child(_child(signature, "KeyInfo"), "X509Data"), "X509Certificate")
        certificate.text = self._cert_text
        return etree.tostring(root, encoding="utf-8", xml_declaration=True)


def _child(parent: etree._Element, name: str, **attributes: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{DSIG}}}{name}", attributes)


def _canonical(node: etree._Element) -> bytes:
    """Inclusive C14N 1.0 without comments (what Reference URI="" and the SignedInfo take)."""
    return etree.tostring(node, method="c14n", exclusive=False, with_comments=False)


def sign_envelope(xml: bytes, key_pem: bytes, cert_pem: bytes) -> bytes:
    """Sign one envelope; for many, make one ``Signer`` and call its ``sign``."""
    return Signer(key_pem, cert_pem).sign(xml)


def verify_envelope(xml: bytes, cert_pem: bytes | None = None) -> Verification:
    """Check the signature in CHUKYDONVI against ``cert_pem``, or, when none is given, against
    the certificate embedded in the signature: that proves the content is unchanged since it was
    signed with that certificate's key, not who holds the key (the certificate is self-asserted;
    no chain to a trusted CA is checked). The certificate must be valid today.
    """
    try:
        root = _envelope(xml)
    except SigningError as exc:
        return Verification(False, "", str(exc))
    signatures = root.findall(f".//{_SIGNATURE}")
    if not signatures:
        slot = root.find(SIGNATURE_ELEMENT)
        if slot is not None and (len(slot) or (slot.text or "").strip()):
            return Verification(False, "", "CHUKYDONVI holds no XML signature (ds:Signature)")
        return Verification(False, "", "unsigned: no signature in CHUKYDONVI")
    if len(signatures) > 1 or signatures[0].getparent() is not root.find(SIGNATURE_ELEMENT):
        return Verification(
            False, "", "the envelope must hold exactly one signature, in CHUKYDONVI"
        )
    given = cert_pem is not None
    try:
        cert = load_certificate(cert_pem) if cert_pem is not None else _embedded(signatures[0])
    except SigningError as exc:
        return Verification(False, "", str(exc))
    signer = cert.subject.rfc4514_string()
    now = datetime.now(UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        valid = f"{cert.not_valid_before_utc:%d/%m/%Y}–{cert.not_valid_after_utc:%d/%m/%Y}"
        return Verification(False, signer, f"the certificate is not valid today (valid {valid})")
    source = "the certificate given" if given else "its embedded certificate only (self-asserted)"
    fast = _verify_profile(root, signatures[0], cert)
    if fast is not None:
        return Verification(fast == "", signer, fast or f"verified with {source}")
    try:
        result = XMLVerifier().verify(root, x509_cert=cert, expect_config=_EXPECTED)
    except (SignXMLException, ValueError) as exc:
        # signxml appends the cause, which is empty for a wrong key: "... failed: "
        return Verification(False, signer, str(exc).rstrip(": ") or type(exc).__name__)
    signed = result.signed_xml if not isinstance(result, list) else None
    if signed is None or signed.tag != root.tag:
        return Verification(False, signer, "the signature does not cover the whole envelope")
    return Verification(True, signer, f"verified with {source}")


def _algorithm(parent: etree._Element | None, name: str) -> str | None:
    found = None if parent is None else parent.find(f"{{{DSIG}}}{name}")
    return None if found is None else found.get("Algorithm")


def _verify_profile(
    root: etree._Element, signature: etree._Element, cert: x509.Certificate
) -> str | None:
    """Verify a signature of the profile `Signer` makes: "" when it holds, what is wrong when it
    does not, None when the signature is of another profile (then signxml verifies it)."""
    info = signature.find(f"{{{DSIG}}}SignedInfo")
    references = [] if info is None else info.findall(f"{{{DSIG}}}Reference")
    if info is None or len(references) != 1 or references[0].get("URI") != "":
        return None
    reference = references[0]
    transforms = tuple(
        t.get("Algorithm") for t in reference.iterfind(f"{{{DSIG}}}Transforms/{{{DSIG}}}Transform")
    )
    algorithms = {
        "CanonicalizationMethod": _algorithm(info, "CanonicalizationMethod"),
        "SignatureMethod": _algorithm(info, "SignatureMethod"),
        "DigestMethod": _algorithm(reference, "DigestMethod"),
    }
    key = cert.public_key()
    if algorithms != _PROFILE or transforms not in _TRANSFORMS:
        return None
    if not isinstance(key, rsa.RSAPublicKey):
        return f"the certificate's key is {type(key).__name__}, not RSA"
    try:
        value = base64.b64decode(
            "".join(signature.findtext(f"{{{DSIG}}}SignatureValue", "").split())
        )
        expected = base64.b64decode(
            "".join(reference.findtext(f"{{{DSIG}}}DigestValue", "").split())
        )
    except ValueError:
        return "the signature or digest value is not base64"
    try:
        key.verify(value, _canonical(info), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return "the signature value does not verify with the certificate's key"
    _detach(signature)
    if not hmac.compare_digest(hashlib.sha256(_canonical(root)).digest(), expected):
        return "the content changed after it was signed (the digest does not match)"
    return ""


def _detach(signature: etree._Element) -> None:
    """Take the signature out of the tree, its tail text staying (the enveloped-signature
    transform removes the element, not the text after it)."""
    parent = signature.getparent()
    if parent is None:
        return
    if signature.tail:
        previous = signature.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + signature.tail
        else:
            previous.tail = (previous.tail or "") + signature.tail
    parent.remove(signature)


def load_certificate(pem: bytes) -> x509.Certificate:
    """A PEM certificate; SigningError saying why it is not one."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise SigningError(f"not a PEM X.509 certificate ({exc})") from None


def _embedded(signature: etree._Element) -> x509.Certificate:
    """The first certificate of the signature's KeyInfo/X509Data (the signer's, by XML-DSig)."""
    text = signature.findtext(f"{{{DSIG}}}KeyInfo/{{{DSIG}}}X509Data/{{{DSIG}}}X509Certificate")
    if not text or not text.strip():
        raise SigningError("the signature embeds no certificate and none was given")
    try:
        return x509.load_der_x509_certificate(
            base64.b64decode("".join(text.split()), validate=True)
        )
    except ValueError as exc:  # binascii.Error is one
        raise SigningError(f"the embedded certificate is not readable ({exc})") from None


def signing_files(settings: Settings) -> tuple[bytes, bytes]:
    """The PEM key and certificate named by SONGKHOE_BHYT_KEY and SONGKHOE_BHYT_CERT, read."""
    key = _read(settings.bhyt_signing_key, "SONGKHOE_BHYT_KEY", "private key")
    cert = _read(settings.bhyt_signing_cert, "SONGKHOE_BHYT_CERT", "certificate")
    return key, cert


def load_signer(settings: Settings) -> Signer:
    """The facility's signer from SONGKHOE_BHYT_KEY and SONGKHOE_BHYT_CERT (PEM files)."""
    key, cert = signing_files(settings)
    try:
        return Signer(key, cert)
    except SigningError as exc:
        raise SigningError(
            f"{settings.bhyt_signing_key}, {settings.bhyt_signing_cert}: {exc}"
        ) from None


def _read(path: Path | None, variable: str, what: str) -> bytes:
    if path is None:
        raise SigningError(f"{variable} is not set: the PEM {what} file that signs BHYT claims")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{variable}: cannot read {path}: {exc.strerror}") from None
