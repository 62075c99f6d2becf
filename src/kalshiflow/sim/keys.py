"""The simulator's own API key pair: generated once into its data directory and reused.

The simulator needs an RSA key only to hand an operator something to sign with when no account was
configured. It must not import the client (``kalshiflow.exchange``), so the few steps it needs --
generate a pair, create the private file with mode 0600 without ever replacing one, read the public
half back -- live here.

Invariants:

* The private key file is created exclusively (``O_EXCL``) with mode 0600 before any key byte is
  written; an existing file is never overwritten, and a failed write removes the partial file.
* The key id is a UUID derived from the public key's DER encoding, so the same key file gives the
  same key id on every start.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from pathlib import Path
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PRIVATE_KEY_FILE: Final = "sim-api-key.pem"
PUBLIC_KEY_FILE: Final = "sim-api-key.pub.pem"
KEY_SIZE_BITS: Final = 2048
_KEY_ID_NAMESPACE: Final = uuid.UUID("6c1f3b1e-5a2b-4e7c-9a51-0d3c8b7e2f10")


class SimKeyError(ValueError):
    """The data directory's key file cannot be used; the message names the file, never the key."""


def key_id_for(public_key_pem: bytes) -> str:
    """A stable key id for a public key: a UUID derived from its DER encoding."""
    public_key = serialization.load_pem_public_key(public_key_pem)
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return str(uuid.uuid5(_KEY_ID_NAMESPACE, hashlib.sha256(der).hexdigest()))


def new_key_pair() -> tuple[bytes, bytes]:
    """A fresh RSA key: (PKCS#1 private PEM, SubjectPublicKeyInfo public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return private_pem, _public_pem(key)


def _public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def public_pem_of(private_path: Path) -> bytes:
    """The public half of the RSA private key stored at ``private_path``."""
    try:
        pem = private_path.read_bytes()
    except OSError as exc:
        raise SimKeyError(f"{private_path}: cannot read file ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SimKeyError(f"{private_path}: not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SimKeyError(f"{private_path}: not an RSA private key")
    return _public_pem(key)


def write_new_private_key(path: Path, pem: bytes) -> None:
    """Create ``path`` (mode 0600, exclusively) and write ``pem``; never replaces an existing file."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SimKeyError(f"{path}: already exists; refusing to overwrite a private key") from None
    except OSError as exc:
        raise SimKeyError(f"{path}: cannot create file ({exc.strerror})") from None
    try:
        os.fchmod(fd, 0o600)
        remaining = memoryview(pem)
        while remaining:
            remaining = remaining[os.write(fd, remaining) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)


def ensure_generated_key(data_dir: Path) -> tuple[str, Path, Path]:
    """(key id, private key path, public key path) of the data directory's key, created if absent."""
    data_dir.mkdir(parents=True, exist_ok=True)
    private_path = data_dir / PRIVATE_KEY_FILE
    public_path = data_dir / PUBLIC_KEY_FILE
    if private_path.exists():
        try:
            public_pem = public_pem_of(private_path)
        except SimKeyError as exc:
            raise SimKeyError(
                f"--data-dir key {exc}; remove it to let the simulator generate a new one"
            ) from None
    else:
        private_pem, public_pem = new_key_pair()
        write_new_private_key(private_path, private_pem)
    if not public_path.exists() or public_path.read_bytes() != public_pem:
        public_path.write_bytes(public_pem)
    return key_id_for(public_pem), private_path, public_path
