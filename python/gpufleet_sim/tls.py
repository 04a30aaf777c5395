"""Self-signed TLS certificate for the simulated BMCs, generated at start-up (no key on disk in the repo)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_self_signed(hosts: list[str] | None = None, common_name: str = "gpufleet-sim BMC") -> tuple[bytes, bytes]:
    """Return (cert PEM, key PEM) valid for localhost, 127.0.0.1 and ``hosts`` (IPs or names)."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    for h in dict.fromkeys(hosts or []):
        try:
            ip = ipaddress.ip_address(h)
        except ValueError:
            names.append(x509.DNSName(h))
        else:
            if str(ip) != "127.0.0.1":
                names.append(x509.IPAddress(ip))
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "gpufleet"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert_pem, key_pem


def server_context(cert_dir: str, hosts: list[str] | None = None) -> tuple[ssl.SSLContext, str]:
    """An SSL server context with a fresh self-signed certificate; returns it and the cert file path.

    The certificate (for clients to trust) is written to ``cert_dir``, which the caller owns and
    removes. The private key is on disk only while the context loads it (``ssl`` reads keys from
    files), in a private temporary directory removed right after.
    """
    cert_pem, key_pem = make_self_signed(hosts)
    os.makedirs(cert_dir, exist_ok=True)
    cert_path = os.path.join(cert_dir, "bmc-cert.pem")
    with open(cert_path, "wb") as f:
        f.write(cert_pem)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory(prefix="gpufleet-sim-key-") as key_dir:
        key_path = os.path.join(key_dir, "bmc-key.pem")
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key_pem)
        ctx.load_cert_chain(cert_path, key_path)
    return ctx, cert_path
