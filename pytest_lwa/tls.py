"""Certificates for serving HTTPS: a certificate authority made for this run, and what clients trust.

trustme does the work (an optional extra: ``pip install 'pytest-lwa[tls]'``).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Certificates", "make_certificates"]

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Certificates:
    server_context: ssl.SSLContext
    #: a client context that trusts the authority
    client_context: ssl.SSLContext
    #: the authority's certificate as PEM, for REQUESTS_CA_BUNDLE, SSL_CERT_FILE, curl --cacert
    ca_bundle: Path


def make_certificates(
    hosts: Iterable[str], directory: Path, authority_pem: tuple[bytes, bytes] | None = None
) -> Certificates:
    """A server certificate for ``hosts`` and the loopback names, from a new authority or the one given
    as ``(certificate PEM, private key PEM)``."""
    try:
        import trustme
    except ImportError:
        raise RuntimeError("serving HTTPS needs the trustme package: pip install 'pytest-lwa[tls]'") from None
    if authority_pem is None:
        authority = trustme.CA()
    else:
        try:
            authority = trustme.CA.from_pem(*authority_pem)
        except ValueError as error:
            raise ValueError(f"the certificate authority given is not a PEM certificate and key: {error}") from None
    names = list(dict.fromkeys([*LOOPBACK_NAMES, *(h for h in hosts if h and h not in ("0.0.0.0", "::"))]))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(*names).configure_cert(server_context)
    bundle = directory / "lwa-ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    return Certificates(server_context, ssl.create_default_context(cafile=str(bundle)), bundle)
