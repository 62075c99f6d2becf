"""Client signing (exchange.auth) against the simulator's verifier (sim.auth), plus key handling."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from kalshiflow.clock import ManualClock
from kalshiflow.exchange.auth import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    KeyConfigError,
    RequestSigner,
    generate_key_pair,
    load_private_key,
    signing_message,
    write_private_key,
)
from kalshiflow.sim.auth import (
    AUTH_ERROR_STATUS,
    INVALID_API_KEY,
    INVALID_SIGNATURE,
    INVALID_TIMESTAMP,
    MISSING_AUTHENTICATION,
    STALE_TIMESTAMP,
    AuthError,
    KeyRegistry,
    auth_error_body,
    verify_request,
)

KEY_ID = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
ACCOUNT = "acct-1"
ORDERS_PATH = "/trade-api/v2/portfolio/orders"


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    return generate_key_pair()


@pytest.fixture(scope="module")
def private_key(key_pair: tuple[bytes, bytes]) -> RSAPrivateKey:
    key = serialization.load_pem_private_key(key_pair[0], password=None)
    assert isinstance(key, RSAPrivateKey)
    return key


@pytest.fixture
def signer(private_key: RSAPrivateKey) -> RequestSigner:
    return RequestSigner(KEY_ID, private_key)


@pytest.fixture
def registry(key_pair: tuple[bytes, bytes]) -> KeyRegistry:
    reg = KeyRegistry()
    reg.register(KEY_ID, key_pair[1], ACCOUNT)
    return reg


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _auth_code(excinfo: pytest.ExceptionInfo[AuthError]) -> str:
    return excinfo.value.code


# -- signing round trip -----------------------------------------------------------------------


def test_signing_message_matches_reference_example() -> None:
    assert signing_message(1703123456789, "get", ORDERS_PATH + "?limit=5") == (
        b"1703123456789GET/trade-api/v2/portfolio/orders"
    )


def test_headers_are_the_three_kalshi_headers(signer: RequestSigner, clock: ManualClock) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    assert set(headers) == {HEADER_KEY, HEADER_TIMESTAMP, HEADER_SIGNATURE}
    assert headers[HEADER_KEY] == KEY_ID
    assert headers[HEADER_TIMESTAMP] == str(clock.now_ms())
    assert len(base64.b64decode(headers[HEADER_SIGNATURE], validate=True)) == 256


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ORDERS_PATH),
        ("POST", "/trade-api/v2/portfolio/events/orders"),
        ("DELETE", "/trade-api/v2/portfolio/events/orders/abc"),
        ("GET", "/trade-api/ws/v2"),
    ],
)
def test_signed_request_verifies_to_its_account(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock, method: str, path: str
) -> None:
    headers = signer.headers(method, path, clock.now_ms())
    assert verify_request(registry, headers, method, path, clock.now_ms()) == ACCOUNT


def test_query_string_is_not_signed(signer: RequestSigner, registry: KeyRegistry, clock: ManualClock) -> None:
    headers = signer.headers("GET", ORDERS_PATH + "?limit=5&cursor=x", clock.now_ms())
    assert verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms()) == ACCOUNT
    assert verify_request(registry, headers, "GET", ORDERS_PATH + "?limit=99", clock.now_ms()) == ACCOUNT


def test_lowercase_method_is_signed_uppercase(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock
) -> None:
    headers = signer.headers("post", ORDERS_PATH, clock.now_ms())
    assert verify_request(registry, headers, "POST", ORDERS_PATH, clock.now_ms()) == ACCOUNT


def test_header_names_are_case_insensitive(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock
) -> None:
    headers = {
        name.lower(): value for name, value in signer.headers("GET", ORDERS_PATH, clock.now_ms()).items()
    }
    assert verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms()) == ACCOUNT


def test_signatures_are_randomized_but_both_verify(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock
) -> None:
    first = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    second = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    assert first[HEADER_SIGNATURE] != second[HEADER_SIGNATURE]
    for headers in (first, second):
        assert verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms()) == ACCOUNT


# -- rejections -------------------------------------------------------------------------------


def test_tampered_path_is_rejected(signer: RequestSigner, registry: KeyRegistry, clock: ManualClock) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", "/trade-api/v2/portfolio/balance", clock.now_ms())
    assert _auth_code(excinfo) == INVALID_SIGNATURE


def test_tampered_method_is_rejected(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock
) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "DELETE", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == INVALID_SIGNATURE


def test_tampered_timestamp_is_rejected(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock
) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    headers[HEADER_TIMESTAMP] = str(clock.now_ms() + 1)
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == INVALID_SIGNATURE


@pytest.mark.parametrize("signed_offset_ms", [-30_001, 30_001, -3_600_000])
def test_timestamp_outside_skew_is_rejected(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock, signed_offset_ms: int
) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms() + signed_offset_ms)
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == STALE_TIMESTAMP


@pytest.mark.parametrize("signed_offset_ms", [-30_000, 0, 30_000])
def test_timestamp_at_skew_edge_is_accepted(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock, signed_offset_ms: int
) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms() + signed_offset_ms)
    assert verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms()) == ACCOUNT


def test_request_goes_stale_as_the_clock_moves(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock
) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    clock.advance(31)
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == STALE_TIMESTAMP
    assert (
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms(), max_skew_ms=60_000) == ACCOUNT
    )


def test_unknown_key_is_rejected(
    private_key: RSAPrivateKey, registry: KeyRegistry, clock: ManualClock
) -> None:
    headers = RequestSigner("someone-else", private_key).headers("GET", ORDERS_PATH, clock.now_ms())
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == INVALID_API_KEY


def test_signature_from_another_key_is_rejected(registry: KeyRegistry, clock: ManualClock) -> None:
    other_pem, _ = generate_key_pair()
    other = serialization.load_pem_private_key(other_pem, password=None)
    assert isinstance(other, RSAPrivateKey)
    headers = RequestSigner(KEY_ID, other).headers("GET", ORDERS_PATH, clock.now_ms())
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == INVALID_SIGNATURE


def test_max_length_salt_is_rejected(
    private_key: RSAPrivateKey, registry: KeyRegistry, clock: ManualClock
) -> None:
    ts = clock.now_ms()
    signature = private_key.sign(
        signing_message(ts, "GET", ORDERS_PATH),
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
        hashes.SHA256(),
    )
    headers = {
        HEADER_KEY: KEY_ID,
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: base64.b64encode(signature).decode(),
    }
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, ts)
    assert _auth_code(excinfo) == INVALID_SIGNATURE


@pytest.mark.parametrize("bad_signature", ["not base64!!", "YWJj", "YWJjZA"])
def test_malformed_signature_is_rejected(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock, bad_signature: str
) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    headers[HEADER_SIGNATURE] = bad_signature
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == INVALID_SIGNATURE


@pytest.mark.parametrize("dropped", [HEADER_KEY, HEADER_TIMESTAMP, HEADER_SIGNATURE])
def test_missing_header_is_named(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock, dropped: str
) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    del headers[dropped]
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == MISSING_AUTHENTICATION
    assert dropped in excinfo.value.message


@pytest.mark.parametrize("bad_ts", ["1.7e12", "-5", "abc", "１２３"])
def test_non_integer_timestamp_is_rejected(
    signer: RequestSigner, registry: KeyRegistry, clock: ManualClock, bad_ts: str
) -> None:
    headers = signer.headers("GET", ORDERS_PATH, clock.now_ms())
    headers[HEADER_TIMESTAMP] = bad_ts
    with pytest.raises(AuthError) as excinfo:
        verify_request(registry, headers, "GET", ORDERS_PATH, clock.now_ms())
    assert _auth_code(excinfo) == INVALID_TIMESTAMP


def test_auth_error_body_is_kalshi_envelope() -> None:
    body = auth_error_body(AuthError(INVALID_SIGNATURE, "signature does not match the request"))
    assert body == {
        "error": {
            "code": "invalid_signature",
            "message": "signature does not match the request",
            "details": "",
        }
    }
    assert AUTH_ERROR_STATUS == 401


def test_registry_rejects_conflicting_registration(key_pair: tuple[bytes, bytes]) -> None:
    reg = KeyRegistry()
    reg.register(KEY_ID, key_pair[1].decode(), ACCOUNT)
    reg.register(KEY_ID, key_pair[1], ACCOUNT)  # idempotent
    with pytest.raises(ValueError, match="another account"):
        reg.register(KEY_ID, key_pair[1], "acct-2")
    with pytest.raises(ValueError, match="not a PEM public key"):
        reg.register("k2", b"garbage", ACCOUNT)
    assert KEY_ID in reg
    assert len(reg) == 1


# -- key loading and writing ------------------------------------------------------------------


def test_generated_private_key_is_pkcs1(key_pair: tuple[bytes, bytes]) -> None:
    private_pem, public_pem = key_pair
    assert private_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")


def _pkcs8(key: RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize("fmt", ["pkcs1", "pkcs8"])
def test_key_file_loads_in_both_formats(
    tmp_path: Path, key_pair: tuple[bytes, bytes], private_key: RSAPrivateKey, fmt: str
) -> None:
    pem = key_pair[0] if fmt == "pkcs1" else _pkcs8(private_key)
    path = tmp_path / "key.pem"
    path.write_bytes(pem)
    loaded = load_private_key(str(path))
    assert loaded.private_numbers() == private_key.private_numbers()


@pytest.mark.parametrize("flatten_newlines", [False, True])
def test_key_loads_from_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
    key_pair: tuple[bytes, bytes],
    private_key: RSAPrivateKey,
    flatten_newlines: bool,
) -> None:
    value = key_pair[0].decode()
    if flatten_newlines:
        value = value.replace("\n", "\\n")
    monkeypatch.setenv("KALSHI_PRIVATE_KEY", "ignored: the library reads only what it is given")
    loaded = load_private_key(pem_env_var="KALSHI_PRIVATE_KEY", environ={"KALSHI_PRIVATE_KEY": value})
    assert loaded.private_numbers() == private_key.private_numbers()


def test_file_path_wins_over_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_pair: tuple[bytes, bytes], private_key: RSAPrivateKey
) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(key_pair[0])
    variables = {"KALSHI_PRIVATE_KEY": "garbage"}
    loaded = load_private_key(str(path), "KALSHI_PRIVATE_KEY", environ=variables)
    assert loaded.private_numbers() == private_key.private_numbers()


def test_missing_key_file_names_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(KeyConfigError) as excinfo:
        load_private_key(str(missing))
    assert str(excinfo.value) == f"--key-file {missing}: file not found"


def test_directory_as_key_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(KeyConfigError, match=r"--key-file .*: is a directory"):
        load_private_key(str(tmp_path))


def test_unset_environment_variable_names_it() -> None:
    with pytest.raises(KeyConfigError, match=r"^KALSHI_PRIVATE_KEY: environment variable is not set"):
        load_private_key(pem_env_var="KALSHI_PRIVATE_KEY", environ={})


def test_nothing_configured_is_an_error() -> None:
    with pytest.raises(KeyConfigError, match="no private key configured"):
        load_private_key()


def test_bad_key_error_never_includes_key_material(
    monkeypatch: pytest.MonkeyPatch, key_pair: tuple[bytes, bytes]
) -> None:
    # A real key, truncated: clearly secret-bearing and unparseable.
    corrupted = key_pair[0].decode()[:-200]
    with pytest.raises(KeyConfigError) as excinfo:
        load_private_key(pem_env_var="KALSHI_PRIVATE_KEY", environ={"KALSHI_PRIVATE_KEY": corrupted})
    assert str(excinfo.value) == "KALSHI_PRIVATE_KEY: not a PEM RSA private key"
    assert excinfo.value.__cause__ is None
    assert excinfo.value.__suppress_context__
    body_line = corrupted.splitlines()[1]
    assert body_line not in str(excinfo.value)
    assert body_line not in repr(excinfo.value)


def test_public_key_in_key_file_is_rejected(tmp_path: Path, key_pair: tuple[bytes, bytes]) -> None:
    path = tmp_path / "pub.pem"
    path.write_bytes(key_pair[1])
    with pytest.raises(KeyConfigError, match="not a PEM RSA private key"):
        load_private_key(str(path), path_setting="KALSHI_KEY_FILE")


def test_non_rsa_key_is_rejected(tmp_path: Path) -> None:
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path = tmp_path / "ec.pem"
    path.write_bytes(ec_pem)
    with pytest.raises(KeyConfigError, match="not an RSA private key"):
        load_private_key(str(path))


def test_encrypted_key_is_rejected_with_hint(tmp_path: Path, private_key: RSAPrivateKey) -> None:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    path = tmp_path / "enc.pem"
    path.write_bytes(pem)
    with pytest.raises(KeyConfigError, match="encrypted"):
        load_private_key(str(path))


def test_written_private_key_is_mode_0600_and_loads(
    tmp_path: Path, key_pair: tuple[bytes, bytes], private_key: RSAPrivateKey
) -> None:
    path = tmp_path / "kalshi.pem"
    old_umask = os.umask(0)
    try:
        write_private_key(str(path), key_pair[0])
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == key_pair[0]
    assert load_private_key(str(path)).private_numbers() == private_key.private_numbers()


def test_write_private_key_refuses_to_overwrite(tmp_path: Path, key_pair: tuple[bytes, bytes]) -> None:
    path = tmp_path / "kalshi.pem"
    path.write_bytes(b"existing")
    with pytest.raises(KeyConfigError, match="already exists"):
        write_private_key(str(path), key_pair[0])
    assert path.read_bytes() == b"existing"


def test_signer_repr_does_not_leak_key(signer: RequestSigner, key_pair: tuple[bytes, bytes]) -> None:
    text = repr(signer) + str(signer)
    assert text == f"RequestSigner(key_id={KEY_ID!r})" * 2
    assert not hasattr(signer, "__dict__")
    for line in key_pair[0].decode().splitlines()[1:-1]:
        assert line not in text
