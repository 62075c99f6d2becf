"""Client-side Kalshi request signing, and loading/creating the RSA key it needs.

Every authenticated REST request and the WebSocket handshake carry three headers (reference §2):
the key id, a millisecond timestamp and an RSA-PSS signature over ``ts + METHOD + path``, where
``path`` starts at ``/trade-api/v2`` (or ``/trade-api/ws/v2``) and has no query string.

Invariants:

* Key material never appears in an error message, an exception chain or a ``repr``. Errors name
  the setting to fix (``--key-file /x: file not found``, ``KALSHI_PRIVATE_KEY: not a PEM RSA
  private key``) and nothing else.
* PSS uses SHA-256, MGF1(SHA-256) and salt length = digest length (32 bytes). Kalshi rejects the
  ``MAX_LENGTH`` salt that the ``cryptography`` docs show in their examples.
* A private key written by ``write_private_key`` is mode 0600 from the moment it exists and never
  overwrites an existing file.

This module computes the signed message independently of the simulator's verifier on purpose: a
shared helper would let one bug pass both sides' tests and fail only against Kalshi.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

HEADER_KEY: Final = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP: Final = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE: Final = "KALSHI-ACCESS-SIGNATURE"

KEY_FILE_SETTING: Final = "--key-file"
KEY_SIZE_BITS: Final = 2048


_NO_VARIABLES: Final[Mapping[str, str]] = MappingProxyType({})


class KeyConfigError(ValueError):
    """The private key setting is wrong; the message names the setting, never the key."""


def _read_key_file(path: str, setting: str) -> bytes:
    where = f"{setting} {path}"
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise KeyConfigError(f"{where}: file not found") from None
    except IsADirectoryError:
        raise KeyConfigError(f"{where}: is a directory, not a key file") from None
    except PermissionError:
        raise KeyConfigError(f"{where}: permission denied") from None
    except OSError as exc:
        raise KeyConfigError(f"{where}: cannot read file ({exc.strerror})") from None


def _read_key_env(name: str, environ: Mapping[str, str]) -> bytes:
    value = environ.get(name)
    if value is None or not value.strip():
        raise KeyConfigError(f"{name}: environment variable is not set or empty")
    # .env files and CI secrets often flatten the PEM's newlines to a literal "\n".
    if "\n" not in value and "\\n" in value:
        value = value.replace("\\n", "\n")
    return value.encode("utf-8", errors="replace")


def _parse_private_key(pem: bytes, where: str) -> RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise KeyConfigError(f"{where}: key is encrypted; provide an unencrypted PEM key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyConfigError(f"{where}: not a PEM RSA private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise KeyConfigError(f"{where}: not an RSA private key ({type(key).__name__})")
    return key


def load_private_key(
    path: str | None = None,
    pem_env_var: str | None = None,
    *,
    path_setting: str = KEY_FILE_SETTING,
    environ: Mapping[str, str] = _NO_VARIABLES,
) -> RSAPrivateKey:
    """Load a PKCS#1 or PKCS#8 PEM RSA private key from ``path`` or, failing that, the variable
    ``pem_env_var`` of ``environ`` (the variables the composition layer read; this module never reads
    the process environment itself).

    ``path`` wins when both are given. ``path_setting`` is how the path was configured, used in
    error messages.
    """
    if path is not None:
        return _parse_private_key(_read_key_file(path, path_setting), f"{path_setting} {path}")
    if pem_env_var is not None:
        return _parse_private_key(_read_key_env(pem_env_var, environ), pem_env_var)
    raise KeyConfigError(
        f"no private key configured: pass {path_setting} or set the key's environment variable"
    )


def signing_message(timestamp_ms: int, method: str, path: str) -> bytes:
    """``b"1703123456789GET/trade-api/v2/portfolio/orders"`` for ``GET .../portfolio/orders?limit=5``."""
    return f"{timestamp_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


_PSS: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


class RequestSigner:
    """Produces Kalshi's three auth headers for one API key."""

    __slots__ = ("_private_key", "key_id")

    def __init__(self, key_id: str, private_key: RSAPrivateKey) -> None:
        if not key_id:
            raise KeyConfigError("API key id is empty")
        self.key_id = key_id
        self._private_key = private_key

    def sign(self, message: bytes) -> str:
        """Standard padded base64 of the RSA-PSS signature over ``message``."""
        signature = self._private_key.sign(message, _PSS, hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def headers(self, method: str, path: str, now_ms: int) -> dict[str, str]:
        """Auth headers for ``method path`` at ``now_ms``; ``path`` includes ``/trade-api/v2``."""
        return {
            HEADER_KEY: self.key_id,
            HEADER_TIMESTAMP: str(now_ms),
            HEADER_SIGNATURE: self.sign(signing_message(now_ms, method, path)),
        }

    def __repr__(self) -> str:
        return f"RequestSigner(key_id={self.key_id!r})"


def generate_key_pair() -> tuple[bytes, bytes]:
    """A new 2048-bit key: (PKCS#1 ``BEGIN RSA PRIVATE KEY`` PEM, SubjectPublicKeyInfo PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE_BITS)
    private_pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.TraditionalOpenSSL,
        encryption_algorithm=serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return private_pem, public_pem


def write_private_key(path: str, pem: bytes) -> None:
    """Create ``path`` with mode 0600 and write ``pem``; refuses to replace an existing file.

    The file is created with ``O_CREAT | O_EXCL`` and mode 0600 (then ``fchmod`` to 0600 in case the
    umask is unusual) before any byte of the key is written. A failed write removes the file.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyConfigError(f"{path}: already exists; refusing to overwrite a private key") from None
    except OSError as exc:
        raise KeyConfigError(f"{path}: cannot create file ({exc.strerror})") from None
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(pem)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)
