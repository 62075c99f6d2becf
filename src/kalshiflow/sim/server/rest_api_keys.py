"""``/api_keys``: list, create (own public key), generate (key pair minted here), delete.

It exists so a client's key management works against the simulator as on Kalshi, and a key made
here really signs requests: creation registers it with the same ``KeyRegistry`` that verifies
every request, deletion removes it. Creating a key from one's own public key needs the Premier
usage level or above (Kalshi's rule); generating one does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from kalshiflow.domain.ratelimits import Tier
from kalshiflow.sim import api_keys, wire
from kalshiflow.sim.errors import ExchangeError, not_found
from kalshiflow.sim.keys import new_key_pair
from kalshiflow.sim.server.rest_pipeline import Call, Reply, Spec

_CREATE_FIELDS: Final = frozenset({"name", "public_key", "scopes", "subaccount", "fcm_subtrader_id"})
_GENERATE_FIELDS: Final = frozenset({"name", "key_type", "scopes", "subaccount", "fcm_subtrader_id"})
MAX_PEM_CHARS: Final = 16_384
_CREATE_TIERS: Final = frozenset({Tier.PREMIER, Tier.PARAGON, Tier.PRIME, Tier.PRESTIGE})


def _info_json(info: api_keys.ApiKeyInfo) -> wire.JsonObject:
    body: wire.JsonObject = {"api_key_id": info.key_id, "name": info.name, "scopes": list(info.scopes)}
    if info.subaccount is not None:
        body["subaccount"] = info.subaccount
    return body


def _list(call: Call) -> Reply:
    book, account_id = call.sim.api_keys, call.account.account_id
    return 200, {"api_keys": [_info_json(book.info(k)) for k in call.sim.keys.keys_of(account_id)]}


def _common(body: Mapping[str, object]) -> tuple[str, tuple[str, ...], int | None]:
    name = wire.req_str(body, "name")
    if body.get("fcm_subtrader_id") is not None:
        raise wire.bad("fcm_subtrader_id is for FCM members; the simulator has none")
    raw_scopes = body.get("scopes")
    scopes: tuple[str, ...]
    if raw_scopes is None:
        scopes = api_keys.FULL_ACCESS
    elif isinstance(raw_scopes, list) and all(isinstance(s, str) for s in raw_scopes):
        scopes = tuple(str(s) for s in raw_scopes)
    else:
        raise wire.bad("scopes must be a list of strings")
    problem = api_keys.check_scopes(scopes)
    if problem is not None:
        raise wire.bad(problem)
    subaccount = wire.opt_int(body, "subaccount", 0, wire.MAX_SUBACCOUNT)
    return name, scopes, subaccount


def _register(call: Call, public_pem: str, body: Mapping[str, object]) -> str:
    name, scopes, subaccount = _common(body)
    key_id = call.sim.engine.new_id()
    try:
        call.sim.keys.register(key_id, public_pem, call.account.account_id)
    except ValueError:
        raise wire.bad("public_key must be an RSA public key in PEM format") from None
    call.sim.api_keys.infos[key_id] = api_keys.ApiKeyInfo(key_id, name, scopes, subaccount)
    return key_id


def _create(call: Call) -> Reply:
    body = wire.parse_object(call.body, _CREATE_FIELDS)
    assert call.sim.limiters is not None
    if call.sim.limiters.for_account(call.account.account_id).tier not in _CREATE_TIERS:
        raise ExchangeError(403, "forbidden", "creating API keys from a public key needs the Premier level")
    public_key = body.get("public_key")
    if not isinstance(public_key, str) or not 0 < len(public_key) <= MAX_PEM_CHARS:
        raise wire.bad("public_key must be an RSA public key in PEM format")
    return 201, {"api_key_id": _register(call, public_key, body)}


def _generate(call: Call) -> Reply:
    body = wire.parse_object(call.body, _GENERATE_FIELDS)
    key_type = wire.opt_str(body, "key_type") or "rsa"
    if key_type != "rsa":
        raise wire.bad(f"key_type {key_type!r} is not supported by the simulator (rsa only)")
    _common(body)  # validate before the (slow) key generation
    private_pem, public_pem = new_key_pair()
    key_id = _register(call, public_pem.decode(), body)
    return 201, {"api_key_id": key_id, "key_type": "rsa", "private_key": private_pem.decode()}


def _delete(call: Call) -> Reply:
    key_id = call.param("api_key")
    if key_id not in call.sim.keys.keys_of(call.account.account_id):
        raise not_found("api key", key_id)
    call.sim.keys.unregister(key_id)
    call.sim.api_keys.infos.pop(key_id, None)
    return 204, None


API_KEY_ROUTES: Final = (
    Spec("/api_keys", _list),
    Spec("/api_keys", _create, "POST"),
    Spec("/api_keys/generate", _generate, "POST"),
    Spec("/api_keys/{api_key}", _delete, "DELETE"),
)
