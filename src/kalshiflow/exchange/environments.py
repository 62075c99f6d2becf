"""Which exchange to talk to, and with which key: the simulator, Kalshi demo or Kalshi production.

The same trader runs against all three by configuration only. ``ExchangeConnection`` is built from
CLI flags (which win) or environment variables, validated once, and then frozen:

* ``KALSHIFLOW_EXCHANGE`` / ``--exchange``: ``sim`` (default), ``demo`` or ``prod``.
* ``KALSHIFLOW_URL`` / ``--url``: REST base URL; defaults to the environment's recommended host
  (reference §1). A URL without ``/trade-api/v2`` gets it appended. The WebSocket URL is derived
  from it (``http`` -> ``ws``, ``/trade-api/v2`` -> ``/trade-api/ws/v2``).
* ``KALSHIFLOW_KEY_ID`` / ``--key-id``: the API key id.
* ``KALSHIFLOW_KEY_FILE`` / ``--key-file``: PEM private key file; otherwise ``KALSHI_PRIVATE_KEY``
  holds the PEM itself.

Safety rule: a URL on a known Kalshi host must match the chosen environment, so a configuration
that says ``sim`` or ``demo`` can never send orders to production by a stale URL. Errors name the
setting to fix; the key's content is never stored here, only where to read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from kalshiflow.exchange.auth import KEY_FILE_SETTING, RequestSigner, load_private_key

REST_PATH: Final = "/trade-api/v2"
WS_PATH: Final = "/trade-api/ws/v2"
KEY_PEM_ENV: Final = "KALSHI_PRIVATE_KEY"


class Environment(StrEnum):
    SIM = "sim"
    DEMO = "demo"
    PROD = "prod"


@dataclass(frozen=True, slots=True)
class EnvironmentUrls:
    rest_url: str
    ws_url: str


DEFAULT_URLS: Final[Mapping[Environment, EnvironmentUrls]] = MappingProxyType(
    {
        Environment.SIM: EnvironmentUrls(
            "http://127.0.0.1:8900/trade-api/v2", "ws://127.0.0.1:8900/trade-api/ws/v2"
        ),
        Environment.DEMO: EnvironmentUrls(
            "https://external-api.demo.kalshi.co/trade-api/v2",
            "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        ),
        Environment.PROD: EnvironmentUrls(
            "https://external-api.kalshi.com/trade-api/v2",
            "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        ),
    }
)

# Kalshi's REST host -> (environment, WebSocket host), recommended and older hosts (reference §1).
KALSHI_HOSTS: Final[Mapping[str, tuple[Environment, str]]] = MappingProxyType(
    {
        "external-api.kalshi.com": (Environment.PROD, "external-api-ws.kalshi.com"),
        "api.elections.kalshi.com": (Environment.PROD, "api.elections.kalshi.com"),
        "trading-api.kalshi.com": (Environment.PROD, "trading-api.kalshi.com"),
        "external-api.demo.kalshi.co": (Environment.DEMO, "external-api-ws.demo.kalshi.co"),
        "demo-api.kalshi.co": (Environment.DEMO, "demo-api.kalshi.co"),
    }
)


class ConnectionConfigError(ValueError):
    """The exchange settings are wrong; the message names the setting to fix."""


@dataclass(frozen=True, slots=True)
class SettingNames:
    """How each setting was given, for error messages (flag or environment variable)."""

    exchange: str = "--exchange"
    url: str = "--url"
    key_id: str = "--key-id"
    key_file: str = KEY_FILE_SETTING


def _normalize_rest_url(url: str, setting: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectionConfigError(
            f"{setting} {url!r}: expected an http(s) URL such as {DEFAULT_URLS[Environment.SIM].rest_url}"
        )
    if parts.query or parts.fragment:
        raise ConnectionConfigError(f"{setting} {url!r}: must not carry a query string or fragment")
    path = parts.path.rstrip("/")
    if not path.endswith(REST_PATH):
        if path:
            raise ConnectionConfigError(f"{setting} {url!r}: the path must be empty or end with {REST_PATH}")
        path = REST_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def derive_ws_url(rest_url: str) -> str:
    """``https://h/trade-api/v2`` -> ``wss://h/trade-api/ws/v2`` (Kalshi hosts map to their WS host)."""
    parts = urlsplit(rest_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    netloc = parts.netloc
    host = parts.hostname or ""
    if host in KALSHI_HOSTS:
        netloc = netloc.replace(host, KALSHI_HOSTS[host][1], 1)
    path = parts.path[: -len(REST_PATH)] + WS_PATH
    return urlunsplit((scheme, netloc, path, "", ""))


@dataclass(frozen=True, slots=True)
class ExchangeConnection:
    """Where the exchange is and how to sign for it.

    * ``environment``: sim, demo or prod.
    * ``rest_url``: REST base URL including ``/trade-api/v2``.
    * ``ws_url``: WebSocket URL including ``/trade-api/ws/v2``.
    * ``key_id``: the API key id.
    * ``key_file``: path of the PEM private key, or None to read ``key_env``.
    * ``key_env``: name of the environment variable that holds the PEM (``KALSHI_PRIVATE_KEY``).
    * ``key_file_setting``: how ``key_file`` was given, for error messages.
    """

    environment: Environment
    rest_url: str
    ws_url: str
    key_id: str
    key_file: str | None = None
    key_env: str = KEY_PEM_ENV
    key_file_setting: str = KEY_FILE_SETTING
    key_pem: str | None = field(default=None, repr=False)  # the value of ``key_env`` the caller read

    def signer(self) -> RequestSigner:
        """Load the private key now; ``KeyConfigError`` names ``--key-file`` or the variable."""
        variables = {} if self.key_pem is None else {self.key_env: self.key_pem}
        key = load_private_key(
            self.key_file, self.key_env, path_setting=self.key_file_setting, environ=variables
        )
        return RequestSigner(self.key_id, key)

    @classmethod
    def from_settings(
        cls,
        exchange: str | None = None,
        url: str | None = None,
        key_id: str | None = None,
        key_file: str | None = None,
        environ: Mapping[str, str] = MappingProxyType({}),
    ) -> ExchangeConnection:
        """Flags first, then the ``KALSHIFLOW_*`` variables of ``environ``, then defaults; validated.

        ``environ`` is what the composition layer read (``kalshiflow.config.process_environ``); this
        library never reads the process environment itself.
        """
        env = environ
        names = SettingNames(
            exchange="--exchange" if exchange else "KALSHIFLOW_EXCHANGE",
            url="--url" if url else "KALSHIFLOW_URL",
            key_id="--key-id" if key_id else "KALSHIFLOW_KEY_ID",
            key_file=KEY_FILE_SETTING if key_file else "KALSHIFLOW_KEY_FILE",
        )
        exchange = exchange or env.get("KALSHIFLOW_EXCHANGE") or Environment.SIM.value
        url = url or env.get("KALSHIFLOW_URL") or None
        key_id = key_id or env.get("KALSHIFLOW_KEY_ID") or None
        key_file = key_file or env.get("KALSHIFLOW_KEY_FILE") or None

        try:
            environment = Environment(exchange.strip().lower())
        except ValueError:
            allowed = ", ".join(e.value for e in Environment)
            raise ConnectionConfigError(f"{names.exchange} {exchange!r}: expected one of {allowed}") from None

        if url is None:
            urls = DEFAULT_URLS[environment]
            rest_url, ws_url = urls.rest_url, urls.ws_url
        else:
            rest_url = _normalize_rest_url(url, names.url)
            ws_url = derive_ws_url(rest_url)
        _check_host_matches(environment, rest_url, names)

        if not key_id or not key_id.strip():
            raise ConnectionConfigError("no API key id: pass --key-id or set KALSHIFLOW_KEY_ID")
        if key_file is None and not env.get(KEY_PEM_ENV, "").strip():
            raise ConnectionConfigError(
                f"no private key: pass --key-file, set KALSHIFLOW_KEY_FILE, or put the PEM in {KEY_PEM_ENV}"
            )
        return cls(
            environment=environment,
            rest_url=rest_url,
            ws_url=ws_url,
            key_id=key_id.strip(),
            key_file=key_file,
            key_file_setting=names.key_file,
            key_pem=env.get(KEY_PEM_ENV) if key_file is None else None,
        )


def host_environment(host: str) -> Environment | None:
    """The Kalshi environment a host belongs to (``*.kalshi.com`` prod, ``*.kalshi.co`` demo)."""
    if host in KALSHI_HOSTS:
        return KALSHI_HOSTS[host][0]
    if host == "kalshi.com" or host.endswith(".kalshi.com"):
        return Environment.PROD
    if host == "kalshi.co" or host.endswith(".kalshi.co"):
        return Environment.DEMO
    return None


def _check_host_matches(environment: Environment, rest_url: str, names: SettingNames) -> None:
    host = urlsplit(rest_url).hostname or ""
    venue = host_environment(host)
    if venue is None and environment is not Environment.SIM:
        raise ConnectionConfigError(
            f"{names.url} {rest_url!r}: {host} is not a Kalshi {environment.value} host; "
            "use --exchange sim for a local simulator"
        )
    if venue is not None and venue is not environment:
        raise ConnectionConfigError(
            f"{names.url} {rest_url!r}: {host} is a Kalshi {venue.value} host but "
            f"{names.exchange} is {environment.value}"
        )
