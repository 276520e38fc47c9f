"""`authrelay serve --dev-tls`: a local CA and a server certificate for 127.0.0.1, ::1,
localhost and *.localhost, made once in the data folder (`tls/`, files 0600) and reused, so
SDKs that only speak TLS (Scalekit's gRPC transport) can reach a development server."""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TLS_DIR = "tls"
CA_DAYS = 3650
CERT_DAYS = 825  # the longest validity some TLS clients accept for a server certificate
RENEW_BEFORE = datetime.timedelta(days=30)
HOSTS = ("localhost", "*.localhost")
ADDRESSES = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class DevTls:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _write(path: Path, data: bytes) -> None:
    """Write `path` atomically, readable by its owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _ca(
    folder: Path, now: datetime.datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The folder's CA, made when missing (never replaced: clients trust its file)."""
    ca_file, ca_key_file = folder / "ca.pem", folder / "ca.key"
    if ca_file.is_file() and ca_key_file.is_file():
        key = serialization.load_pem_private_key(ca_key_file.read_bytes(), None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return x509.load_pem_x509_certificate(ca_file.read_bytes()), key
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=True,
        crl_sign=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("authrelay development CA"))
        .issuer_name(_name("authrelay development CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(ca_key_file, _pem_key(key))
    _write(ca_file, ca.public_bytes(serialization.Encoding.PEM))
    return ca, key


def _current(cert_file: Path, ca: x509.Certificate, now: datetime.datetime) -> bool:
    """Whether the server certificate exists, is signed by `ca` and is not about to expire."""
    if not cert_file.is_file():
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return cert.not_valid_after_utc - RENEW_BEFORE > now


def ensure_dev_tls(data_dir: Path) -> DevTls:
    """The development CA and server certificate in `data_dir/tls`, made when missing."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = data_dir.resolve() / TLS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    made = DevTls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    now = datetime.datetime.now(datetime.UTC)
    ca, ca_key = _ca(folder, now)
    if _current(made.cert_file, ca, now) and made.key_file.is_file():
        return made
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(host) for host in HOSTS]
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in ADDRESSES]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(made.key_file, _pem_key(key))
    _write(made.cert_file, cert.public_bytes(serialization.Encoding.PEM))
    return made


def trust_variables(ca_file: Path) -> dict[str, str]:
    """The variables that make each SDK trust the development CA."""
    ca = str(ca_file)
    return {
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": ca,  # gRPC (Scalekit's Python SDK)
        "REQUESTS_CA_BUNDLE": ca,  # requests (its REST calls)
        "NODE_EXTRA_CA_CERTS": ca,  # Node.js (@scalekit-sdk/node)
    }
