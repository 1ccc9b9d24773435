"""Configuration read once from the environment into a frozen, injectable Settings.

Nothing here reads the environment at import time: `Settings.from_env(os.environ)` is called
by the CLI and the app factory, and tests build `Settings(...)` directly. Every `GYMGATE_*`
variable is known; an unknown one or a bad value raises `ConfigError` naming the variable, so
a typo fails at start-up instead of silently running with a default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gymgate.binding import DEFAULT_PROOF_WINDOW_SECONDS, MAX_PROOF_WINDOW_SECONDS
from gymgate.errors import ConfigError
from gymgate.vocabulary import BINDING_MODES, BindingMode, Wallet

__all__ = ["ENV_PREFIX", "MAX_LEEWAY_SECONDS", "SETTINGS_DOC", "WALLET_SETTINGS", "Settings"]

ENV_PREFIX = "GYMGATE_"
SQLITE_DEFAULT_URL = "sqlite+aiosqlite:///gymgate.db"
SQLITE_SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")
MIN_ADMIN_TOKEN_LENGTH = 16
# Used-pass rows outlive their tokens by far more than this (gymgate.services.sweep).
MAX_LEEWAY_SECONDS = 900
PAYMENT_PROVIDERS = ("mock", "stripe")
# Each wallet's settings, all or none (gymgate.wallet.configured checks it at start-up).
WALLET_SETTINGS: dict[Wallet, tuple[str, ...]] = {
    "apple": (
        "apple_pass_cert",
        "apple_pass_key",
        "apple_wwdr_cert",
        "apple_pass_type_id",
        "apple_team_id",
    ),
    "google": ("google_wallet_key", "google_wallet_issuer_id"),
}

# One line per variable: the README and `gymgate config show` are checked against it.
SETTINGS_DOC: dict[str, str] = {
    "DATABASE_URL": "SQLAlchemy async URL; default a SQLite file gymgate.db in the working "
    "directory; Postgres via postgresql+asyncpg://user@host/db",
    "KEYS_DIR": "directory of signing keys and their metadata (default keys/)",
    "ADMIN_TOKEN": "bearer token for the operator API (/audit, /keys); at least 16 characters",
    "PASS_TTL_SECONDS": "pass lifetime from its first QR generation (default 86400)",
    "CORS_ORIGINS": "comma-separated origins allowed to call the API from a browser (default none)",
    "ISSUER": "the iss claim of issued tokens and the only one accepted (default gymgate)",
    "LEEWAY_SECONDS": "clock leeway when checking exp/iat (default 30, at most 900)",
    "PRICE_CENTS": "price of one pass in cents (default 1500)",
    "CURRENCY": "ISO 4217 currency of the price (default EUR)",
    "MAX_BODY_BYTES": "largest request body accepted; larger gets 413 (default 16384)",
    "MAX_HEADER_BYTES": "largest request head (request line and headers) accepted; larger "
    "gets 431 and the connection is closed (default 16384)",
    "HEADER_TIMEOUT_SECONDS": "seconds a client has to send a whole request head; slower gets "
    "408 and the connection is closed (default 10)",
    "MAX_CONNECTIONS": "open connections a server process serves; a request beyond gets 503 "
    "(default 1000)",
    "DEV_MODE": "1 = a demo or test install: allows the mock provider and no admin token "
    "(default 0)",
    "SQLITE_SYNCHRONOUS": "SQLite synchronous level: NORMAL survives a crashed process, FULL "
    "also a power cut (default NORMAL)",
    "SQLITE_BUSY_TIMEOUT_MS": "how long SQLite waits for a lock before giving up (default 5000)",
    "CLEANUP_INTERVAL_SECONDS": "how often expired used-pass rows are swept (default 60)",
    "AUDIT_RETENTION_DAYS": "audit rows older than this many days are deleted by the sweep; "
    "0 keeps them forever (default 0)",
    "KEY_RELOAD_SECONDS": "how often a server checks keys/ for CLI changes (default 1)",
    "QR_WORKERS": "processes that draw QR images, off the event loop that answers the gates; "
    "0 draws them on the loop (default 1)",
    "RATE_LIMIT_PER_MINUTE": "requests per minute to /verify per gate and per client address; "
    "0 turns this limit off (default 0)",
    "WRITE_LIMIT_PER_MINUTE": "requests per minute per client address to each of /create_payment, "
    "/generate_qr and /passes/wallet/*; 0 turns this limit off (default 60)",
    "AUTH_FAILURES_PER_MINUTE": "wrong gate secrets or admin tokens per minute per client address "
    "before credentials not yet seen working get 429 (default 10)",
    "TRUSTED_PROXIES": "comma-separated IPs or CIDRs of reverse proxies whose X-Forwarded-For "
    "names the client (default none: the direct peer is the client)",
    "LOG_LEVEL": "DEBUG, INFO, WARNING or ERROR (default INFO)",
    "WEB_DIR": "directory of the web pages served at /, /scan and /admin (default: the "
    "project's web/)",
    "PAYMENT_PROVIDER": "mock (answers at once, for trials) or stripe (hosted checkout confirmed "
    "by webhooks at POST /webhooks/payment) (default mock)",
    "STRIPE_SECRET_KEY": "the Stripe API key (sk_live_… or sk_test_…); required with stripe",
    "STRIPE_WEBHOOK_SECRET": "the signing secret of the webhook endpoint (whsec_…); required "
    "with stripe",
    "STRIPE_SUCCESS_URL": "where Stripe's checkout sends the member after paying, e.g. "
    "https://gym.example.com/; required with stripe",
    "STRIPE_API_BASE": "base URL of the Stripe-compatible API (default https://api.stripe.com)",
    "SMTP_URL": "where pass emails go: smtp://host:port (smtps:// for TLS; user:password@ "
    "if the server needs it); unset in dev mode: .eml files in outbox/ (default unset)",
    "PUBLIC_URL": "the address members reach this server at; pass links in emails start with "
    "it (default http://localhost:8000)",
    "MAIL_FROM": "the From address of pass emails (default passes@localhost)",
    "GYM_NAME": "the gym's name on the member page and in emails (default gymgate)",
    "APPLE_PASS_CERT": "PEM file of the Apple Pass Type ID certificate that signs .pkpass "
    "files; Apple Wallet is offered when all five APPLE_ settings are set (default unset)",
    "APPLE_PASS_KEY": "PEM file of that certificate's private key, unencrypted, mode 0600 "
    "(default unset)",
    "APPLE_WWDR_CERT": "PEM file of Apple's WWDR intermediate certificate that issued it "
    "(default unset)",
    "APPLE_PASS_TYPE_ID": "the Pass Type ID, e.g. pass.com.example.gym (default unset)",
    "APPLE_TEAM_ID": "the Apple developer Team ID, e.g. A1B2C3D4E5 (default unset)",
    "GOOGLE_WALLET_KEY": "JSON key file of the Google Cloud service account that signs "
    "Save to Google Wallet links, mode 0600; Google Wallet is offered when it and the issuer "
    "id are set (default unset)",
    "GOOGLE_WALLET_ISSUER_ID": "the Google Wallet issuer id, digits from the Pay & Wallet "
    "console (default unset)",
    "GOOGLE_WALLET_CLASS": "the pass class of Google Wallet passes: its id is the issuer id, "
    "a dot and this; made on the first save (default day_pass)",
    "PASS_BINDING": "none (plain passes: a QR anyone holding a copy can show) or device (each "
    "pass bound to a key on the member's phone, shown as a QR that changes every few seconds; "
    "screenshots stop working) (default none)",
    "PROOF_WINDOW_SECONDS": "how far a bound pass's proof time may be from the verifier's "
    "clock, either way (default 30, 1 to 300)",
}


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError("must be a whole number") from None


def _positive_int(value: str) -> int:
    number = _int(value)
    if number <= 0:
        raise ValueError("must be a positive whole number")
    return number


def _non_negative_int(value: str) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError("must be zero or a positive whole number")
    return number


def _flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("must be 1 or 0")


def _leeway(value: str) -> int:
    seconds = _non_negative_int(value)
    if seconds > MAX_LEEWAY_SECONDS:
        raise ValueError(f"must be at most {MAX_LEEWAY_SECONDS} seconds")
    return seconds


def _origins(value: str) -> tuple[str, ...]:
    origins = tuple(part.strip() for part in value.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ValueError(f"{origin!r} is not an http(s) origin")
    return origins


def _networks(value: str) -> tuple[str, ...]:
    networks = []
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def _database_url(value: str) -> str:
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    return value


def _currency(value: str) -> str:
    if len(value) != 3 or not value.isalpha():
        raise ValueError("must be a three-letter ISO 4217 code")
    return value.upper()


def _http_url(value: str) -> str:
    if not value.strip().startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value.strip()


def _smtp_url(value: str) -> str:
    scheme, sep, rest = value.strip().partition("://")
    if scheme not in ("smtp", "smtps") or not sep or not rest.rpartition("@")[2]:
        raise ValueError("must look like smtp://host:port (or smtps://)")
    return value.strip()


def _mail_from(value: str) -> str:
    if "@" not in value or any(char in value for char in "\r\n"):
        raise ValueError("must be an email address such as passes@gym.example.com")
    return value.strip()


def _identifier(value: str) -> str:
    """A Pass Type ID, Team ID, issuer id or class suffix: one word of safe characters."""
    if not re.fullmatch(r"[A-Za-z0-9._-]+", value.strip()):
        raise ValueError("may hold only letters, digits, '.', '_' and '-'")
    return value.strip()


def _unless_empty(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An optional value: empty means not set (an env file may list it blank)."""
    return lambda value: parse(value) if value.strip() else None


def _payment_provider(value: str) -> str:
    if value.strip().lower() not in PAYMENT_PROVIDERS:
        raise ValueError(f"must be one of {', '.join(PAYMENT_PROVIDERS)}")
    return value.strip().lower()


def _binding_mode(value: str) -> BindingMode:
    for binding in BINDING_MODES:
        if value.strip().lower() == binding:
            return binding
    raise ValueError(f"must be one of {', '.join(BINDING_MODES)}")


def _proof_window(value: str) -> int:
    seconds = _positive_int(value)
    if seconds > MAX_PROOF_WINDOW_SECONDS:
        raise ValueError(f"must be at most {MAX_PROOF_WINDOW_SECONDS} seconds")
    return seconds


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.upper() not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value.upper()

    return parse


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "DATABASE_URL": ("database_url", _database_url),
    "KEYS_DIR": ("keys_dir", lambda v: Path(_text(v))),
    "ADMIN_TOKEN": ("admin_token", _text),
    "PASS_TTL_SECONDS": ("pass_ttl_seconds", _positive_int),
    "CORS_ORIGINS": ("cors_origins", _origins),
    "ISSUER": ("issuer", _text),
    "LEEWAY_SECONDS": ("leeway_seconds", _leeway),
    "PRICE_CENTS": ("price_cents", _positive_int),
    "CURRENCY": ("currency", _currency),
    "MAX_BODY_BYTES": ("max_body_bytes", _positive_int),
    "MAX_HEADER_BYTES": ("max_header_bytes", _positive_int),
    "HEADER_TIMEOUT_SECONDS": ("header_timeout_seconds", _positive_int),
    "MAX_CONNECTIONS": ("max_connections", _positive_int),
    "DEV_MODE": ("dev_mode", _flag),
    "SQLITE_SYNCHRONOUS": ("sqlite_synchronous", _one_of(*SQLITE_SYNCHRONOUS_LEVELS)),
    "SQLITE_BUSY_TIMEOUT_MS": ("sqlite_busy_timeout_ms", _positive_int),
    "CLEANUP_INTERVAL_SECONDS": ("cleanup_interval_seconds", _positive_int),
    "AUDIT_RETENTION_DAYS": ("audit_retention_days", _non_negative_int),
    "KEY_RELOAD_SECONDS": ("key_reload_seconds", _positive_int),
    "QR_WORKERS": ("qr_workers", _non_negative_int),
    "RATE_LIMIT_PER_MINUTE": ("rate_limit_per_minute", _non_negative_int),
    "WRITE_LIMIT_PER_MINUTE": ("write_limit_per_minute", _non_negative_int),
    "AUTH_FAILURES_PER_MINUTE": ("auth_failures_per_minute", _positive_int),
    "TRUSTED_PROXIES": ("trusted_proxies", _networks),
    "LOG_LEVEL": ("log_level", _one_of("DEBUG", "INFO", "WARNING", "ERROR")),
    "WEB_DIR": ("web_dir", lambda v: Path(_text(v))),
    "PAYMENT_PROVIDER": ("payment_provider", _payment_provider),
    "STRIPE_SECRET_KEY": ("stripe_secret_key", _unless_empty(_text)),
    "STRIPE_WEBHOOK_SECRET": ("stripe_webhook_secret", _unless_empty(_text)),
    "STRIPE_SUCCESS_URL": ("stripe_success_url", _unless_empty(_http_url)),
    "STRIPE_API_BASE": ("stripe_api_base", lambda v: _http_url(v).rstrip("/")),
    "SMTP_URL": ("smtp_url", _unless_empty(_smtp_url)),
    "PUBLIC_URL": ("public_url", lambda v: _http_url(v).rstrip("/")),
    "MAIL_FROM": ("mail_from", _mail_from),
    "GYM_NAME": ("gym_name", _text),
    "APPLE_PASS_CERT": ("apple_pass_cert", _unless_empty(lambda v: Path(v.strip()))),
    "APPLE_PASS_KEY": ("apple_pass_key", _unless_empty(lambda v: Path(v.strip()))),
    "APPLE_WWDR_CERT": ("apple_wwdr_cert", _unless_empty(lambda v: Path(v.strip()))),
    "APPLE_PASS_TYPE_ID": ("apple_pass_type_id", _unless_empty(_identifier)),
    "APPLE_TEAM_ID": ("apple_team_id", _unless_empty(_identifier)),
    "GOOGLE_WALLET_KEY": ("google_wallet_key", _unless_empty(lambda v: Path(v.strip()))),
    "GOOGLE_WALLET_ISSUER_ID": ("google_wallet_issuer_id", _unless_empty(_identifier)),
    "GOOGLE_WALLET_CLASS": ("google_wallet_class", _identifier),
    "PASS_BINDING": ("binding_mode", _binding_mode),
    "PROOF_WINDOW_SECONDS": ("proof_window_seconds", _proof_window),
}
# Shown as **** by `gymgate config show`, never logged nor echoed in an error.
_SECRETS = frozenset({"admin_token", "stripe_secret_key", "stripe_webhook_secret"})
# Shown with their password masked, like the database URL.
_URLS_WITH_PASSWORDS = frozenset({"database_url", "smtp_url"})
# Parameters of a database URL that carry a secret (asyncpg reads both), in a query string or
# in the `key=value key=value` DSN someone may paste by mistake.
_URL_SECRET_PARAMETER = re.compile(r"(\b(?:ssl)?password=)[^&\s]*", re.IGNORECASE)
# Shown blank when not set, which is how they are read back.
_BLANK_WHEN_UNSET = frozenset(
    {
        "stripe_secret_key",
        "stripe_webhook_secret",
        "stripe_success_url",
        "smtp_url",
        *WALLET_SETTINGS["apple"],
        *WALLET_SETTINGS["google"],
    }
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything gymgate can be told; defaults are what `make run` uses."""

    database_url: str = SQLITE_DEFAULT_URL
    keys_dir: Path = Path("keys")
    admin_token: str | None = field(default=None, repr=False)
    pass_ttl_seconds: int = 24 * 3600
    cors_origins: tuple[str, ...] = ()
    issuer: str = "gymgate"
    leeway_seconds: int = 30
    price_cents: int = 1500
    currency: str = "EUR"
    max_body_bytes: int = 16 * 1024
    max_header_bytes: int = 16 * 1024
    header_timeout_seconds: int = 10
    max_connections: int = 1000
    dev_mode: bool = False
    sqlite_synchronous: str = "NORMAL"
    sqlite_busy_timeout_ms: int = 5000
    cleanup_interval_seconds: int = 60
    audit_retention_days: int = 0
    key_reload_seconds: int = 1
    qr_workers: int = 1
    rate_limit_per_minute: int = 0
    write_limit_per_minute: int = 60
    auth_failures_per_minute: int = 10
    trusted_proxies: tuple[str, ...] = ()
    log_level: str = "INFO"
    web_dir: Path | None = None
    payment_provider: str = "mock"
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_success_url: str | None = None
    stripe_api_base: str = "https://api.stripe.com"
    smtp_url: str | None = field(default=None, repr=False)
    public_url: str = "http://localhost:8000"
    mail_from: str = "passes@localhost"
    gym_name: str = "gymgate"
    apple_pass_cert: Path | None = None
    apple_pass_key: Path | None = None
    apple_wwdr_cert: Path | None = None
    apple_pass_type_id: str | None = None
    apple_team_id: str | None = None
    google_wallet_key: Path | None = None
    google_wallet_issuer_id: str | None = None
    google_wallet_class: str = "day_pass"
    binding_mode: BindingMode = "none"
    proof_window_seconds: int = DEFAULT_PROOF_WINDOW_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read every `GYMGATE_*` variable; raise ConfigError on the first bad one."""
        values: dict[str, Any] = {}
        for name, raw in sorted(environ.items()):
            if not name.startswith(ENV_PREFIX):
                continue
            key = name.removeprefix(ENV_PREFIX)
            if key not in _PARSERS:
                raise ConfigError(f"{name} is not a gymgate setting (known: {_known()})")
            attribute, parse = _PARSERS[key]
            try:
                values[attribute] = parse(raw)
            except ValueError as exc:
                raise ConfigError(f"{_quoted(name, attribute, raw)} is invalid: {exc}") from None
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (tests and the CLI's --options use it)."""
        return dataclasses.replace(self, **changes)

    def check_for_serving(self) -> None:
        """Refuse to serve without the provider's secrets, or (unless in dev mode) with the
        mock provider or a weak or missing admin token."""
        self.check_payment_provider()
        if self.dev_mode:
            return
        if self.admin_token is None:
            raise ConfigError(
                "GYMGATE_ADMIN_TOKEN is not set: set it (16+ characters) or GYMGATE_DEV_MODE=1"
            )
        if len(self.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ConfigError(
                f"GYMGATE_ADMIN_TOKEN is too short: use at least {MIN_ADMIN_TOKEN_LENGTH} "
                "characters"
            )
        if self.payment_provider == "mock":
            # The mock provider hands out paid passes for free: a demo, never a gym's door.
            raise ConfigError(
                "GYMGATE_PAYMENT_PROVIDER=mock (the default) gives passes away for free: set "
                "GYMGATE_PAYMENT_PROVIDER=stripe, or GYMGATE_DEV_MODE=1 for a demo or test"
            )

    def check_payment_provider(self) -> None:
        """The chosen provider has everything it needs (even in dev mode: it cannot work)."""
        if self.payment_provider != "stripe":
            return
        for attribute in ("stripe_secret_key", "stripe_webhook_secret", "stripe_success_url"):
            if getattr(self, attribute) is None:
                raise ConfigError(
                    f"{ENV_PREFIX}{attribute.upper()} is not set: "
                    f"{ENV_PREFIX}PAYMENT_PROVIDER=stripe needs it"
                )

    def masked(self) -> dict[str, str]:
        """The effective settings by variable name, secrets masked, for `config show`."""
        shown: dict[str, str] = {}
        for key, (attribute, _) in _PARSERS.items():
            value = getattr(self, attribute)
            if value is None and attribute in _BLANK_WHEN_UNSET:
                text = ""
            elif attribute in _SECRETS:
                text = "(not set)" if value is None else "****"
            elif attribute in _URLS_WITH_PASSWORDS:
                text = _mask_url_password(value)
            elif isinstance(value, tuple):
                text = ",".join(value)
            elif value is None:
                text = "(default)"
            elif isinstance(value, bool):
                text = "1" if value else "0"
            else:
                text = str(value)
            shown[ENV_PREFIX + key] = text
        return shown


def _known() -> str:
    return ", ".join(ENV_PREFIX + key for key in _PARSERS)


def _quoted(name: str, attribute: str, raw: str) -> str:
    """How an error names a bad value: a secret not at all, a database URL without its
    password (a typo in the scheme must not put the password in a CI log)."""
    if attribute in _SECRETS:
        return name
    if attribute in _URLS_WITH_PASSWORDS:
        raw = _mask_url_password(raw)
    return f"{name}={raw!r}"


def _mask_url_password(url: str) -> str:
    """The URL with the password of `user:pass@` and of `?password=`/`?sslpassword=` masked."""
    url = _URL_SECRET_PARAMETER.sub(r"\1****", url)
    scheme, sep, rest = url.partition("://")
    if not sep:  # no scheme (a bad value in an error message): still mask `user:pass@`
        scheme, rest = "", url
    # The last '@', not the first: a password may hold a raw '@' or '/'; masking too much
    # (an '@' in the query) is harmless, too little is not.
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:****@{host}"
