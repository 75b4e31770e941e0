"""Claims fixtures: the facility's signing key and certificate, made here (self-signed)."""

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

FACILITY = "Trạm Y tế xã Test"
FACILITY_SUBJECT = "CN=Trạm Y tế xã Test,O=Sống Khỏe,C=VN"


@dataclasses.dataclass(frozen=True)
class Identity:
    key_pem: bytes
    cert_pem: bytes


def identity(common_name: str, *, days: int = 365) -> Identity:
    """A self-signed RSA-2048 certificate, valid from 10 days ago until `days` days from now."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sống Khỏe"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])  # fmt: skip
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=10))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return Identity(key_pem, cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="session")
def facility() -> Identity:
    return identity(FACILITY)


@pytest.fixture(scope="session")
def stranger() -> Identity:
    return identity("Someone else")


@pytest.fixture(scope="session")
def make_identity() -> Callable[..., Identity]:
    """`identity` itself, for a test that needs a certificate of its own (an expired one)."""
    return identity
