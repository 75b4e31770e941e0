"""Settings from environment variables (SONGKHOE_*); nothing hidden in code.

Every variable the application reads is parsed here, in `get_settings`, into typed `Settings`;
a value that does not parse raises SettingError naming the variable, the form it expects and the
value given, so that a typo ends in one line rather than a traceback or a failure later on.
"""

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite:///./var/songkhoe.db"
MIN_ARGON2_MEMORY_KIB = 32  # Argon2's floor: 8 KiB for each of the password hasher's 4 lanes
IMAGING_WORKERS = ("off", "thread")


class SettingError(ValueError):
    """A setting the app cannot work with; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    host: str
    port: int
    export_dir: Path
    max_body_mb: int
    rate_limit_per_minute: int  # per client address and worker process; 0 turns it off
    argon2_memory_kib: int  # Argon2id memory per password hash; RFC 9106 recommends 64 MiB
    media_dir: Path  # X-ray films and heatmaps, content-addressed by SHA-256
    model_dir: Path  # installed imaging models (ONNX + manifest)
    imaging_model: str  # the model the imaging worker runs; "auto": the first installed
    imaging_worker: str  # "thread": the web app runs the imaging worker; "off": a separate one
    imaging_max_file_mb: float  # the largest film file an upload takes (below max_body_mb)
    jitsi_url: str  # the Jitsi Meet server of telehealth video rooms; "": no video rooms
    escalation_interval_s: int  # how often the app escalates overdue consultations; 0: never
    chat_llm_url: str  # OpenAI-compatible API base (…/v1) that phrases chat answers; "": off
    chat_llm_model: str  # the model name sent to that API
    chat_llm_api_key: str  # its bearer token, if it needs one
    chat_llm_timeout_s: float  # past this the chatbot quotes the knowledge base instead
    map_tiles_url: str  # an XYZ tile URL template under the disease map; "": boundaries only
    map_tiles_attribution: str  # the attribution its tile provider requires
    base_url: str  # the server's public base URL, no trailing slash; "": it has none
    bhyt_signing_key: Path | None  # PEM private key that signs BHYT claim envelopes; None: unset
    bhyt_signing_cert: Path | None  # PEM certificate of that key, embedded in each signature
    bhxh_url: str  # the BHXH claims gateway's base URL; "": claims are not sent
    bhxh_username: str  # the facility's account on that gateway
    bhxh_password: str = field(repr=False)  # its password; never logged, printed or stored
    dtqg_url: str  # the national e-prescription system's base URL; "": prescriptions not sent
    dtqg_facility_code: str  # the facility's mã liên thông at that system
    dtqg_facility_password: str = field(repr=False)  # its password; never logged or shown
    dtqg_app_name: str  # the software's app-name there (look-ups of a prescription)
    dtqg_app_key: str = field(repr=False)  # its app-key; never logged or shown


def _invalid(name: str, expected: str, value: str) -> SettingError:
    return SettingError(f"{name}: expected {expected}, got {value!r}")


def _integer(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """The whole number in variable `name`, from `minimum` up to `maximum`; `default` if unset."""
    value = os.environ.get(name)
    if value is None:
        return default
    if maximum is not None:
        expected = f"an integer from {minimum} to {maximum}"
    else:
        expected = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
    try:
        number = int(value)
    except ValueError:
        raise _invalid(name, expected, value) from None
    if number < minimum or (maximum is not None and number > maximum):
        raise _invalid(name, expected, value)
    return number


def _positive_number(name: str, default: float) -> float:
    """The finite number above 0 (decimals allowed) in variable `name`; `default` if unset."""
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number > 0):
        raise _invalid(name, "a positive number", value)
    return number


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of `choices` in variable `name`; `default` if unset."""
    value = os.environ.get(name, default)
    if value not in choices:
        raise _invalid(name, "one of " + ", ".join(choices), value)
    return value


def _url(name: str) -> str:
    """The http(s) URL with a host in variable `name`, without surrounding blanks; "" (the
    feature it serves is off) if unset or empty."""
    value = os.environ.get(name, "").strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a malformed [IPv6] host
        valid = False
    if not valid:
        raise _invalid(name, "an http(s) URL or nothing", value)
    return value


def _optional_path(name: str) -> Path | None:
    """The file path in variable `name`; None if unset or empty (whoever needs it says so)."""
    value = os.environ.get(name, "").strip()
    return Path(value) if value else None


def base_url() -> str:
    """SONGKHOE_BASE_URL, the server's public base URL (https://songkhoe.example.vn) without a
    trailing slash: references under its /fhir/ are this server's (songkhoe.fhir.validation);
    "" (unset): the server has no absolute URL of its own. Never taken from a request's Host
    header. Cheap enough to read where a reference is checked."""
    return _url("SONGKHOE_BASE_URL").rstrip("/")


def _tile_template(name: str) -> str:
    """An XYZ tile URL template such as https://tile.openstreetmap.org/{z}/{x}/{y}.png in
    variable `name`: http(s) with a fixed host (its origin goes into the CSP); "" if unset."""
    value = os.environ.get(name, "").strip()
    if value and tile_origin(value) is None:
        raise _invalid(name, "an http(s) URL template with a fixed host, or nothing", value)
    return value


def tile_origin(url_template: str) -> str | None:
    """The origin (scheme://host[:port]) of a tile URL template, for the CSP; None when the
    template is empty or has no fixed http(s) host."""
    try:
        parts = urlsplit(url_template)
    except ValueError:  # a malformed [IPv6] host
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "{" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def get_settings() -> Settings:
    """Read the settings from the environment, with the embedded SQLite file as default.

    Raises SettingError on the first variable that does not parse. Free text (host, model
    names, the API key, ...) is taken as given, so no secret ever ends up in an error message.
    """
    env = os.environ
    return Settings(
        database_url=env.get("SONGKHOE_DATABASE_URL", DEFAULT_DATABASE_URL),
        host=env.get("SONGKHOE_HOST", "127.0.0.1"),
        port=_integer("SONGKHOE_PORT", 8000, minimum=1, maximum=65535),
        export_dir=Path(env.get("SONGKHOE_EXPORT_DIR", "./var/exports")),
        max_body_mb=_integer("SONGKHOE_MAX_BODY_MB", 16, minimum=1),
        rate_limit_per_minute=_integer("SONGKHOE_RATE_LIMIT_PER_MINUTE", 600),
        argon2_memory_kib=_integer(
            "SONGKHOE_ARGON2_MEMORY_KIB", 65536, minimum=MIN_ARGON2_MEMORY_KIB
        ),
        media_dir=Path(env.get("SONGKHOE_MEDIA_DIR", "./var/media")),
        model_dir=Path(env.get("SONGKHOE_MODEL_DIR", "./var/models")),
        imaging_model=env.get("SONGKHOE_IMAGING_MODEL", "auto"),
        imaging_worker=_choice("SONGKHOE_IMAGING_WORKER", "off", IMAGING_WORKERS),
        imaging_max_file_mb=_positive_number("SONGKHOE_IMAGING_MAX_FILE_MB", 15.0),
        jitsi_url=_url("SONGKHOE_JITSI_URL"),
        escalation_interval_s=_integer("SONGKHOE_ESCALATION_INTERVAL_S", 300),
        chat_llm_url=_url("SONGKHOE_CHAT_LLM_URL"),
        chat_llm_model=env.get("SONGKHOE_CHAT_LLM_MODEL", ""),
        chat_llm_api_key=env.get("SONGKHOE_CHAT_LLM_API_KEY", ""),
        chat_llm_timeout_s=_positive_number("SONGKHOE_CHAT_LLM_TIMEOUT_S", 8.0),
        map_tiles_url=_tile_template("SONGKHOE_MAP_TILES_URL"),
        map_tiles_attribution=env.get("SONGKHOE_MAP_TILES_ATTRIBUTION", ""),
        base_url=base_url(),
        bhyt_signing_key=_optional_path("SONGKHOE_BHYT_KEY"),
        bhyt_signing_cert=_optional_path("SONGKHOE_BHYT_CERT"),
        bhxh_url=_url("SONGKHOE_BHXH_URL"),
        bhxh_username=env.get("SONGKHOE_BHXH_USERNAME", ""),
        bhxh_password=env.get("SONGKHOE_BHXH_PASSWORD", ""),
        dtqg_url=_url("SONGKHOE_DTQG_URL"),
        dtqg_facility_code=env.get("SONGKHOE_DTQG_FACILITY_CODE", "").strip(),
        dtqg_facility_password=env.get("SONGKHOE_DTQG_FACILITY_PASSWORD", ""),
        dtqg_app_name=env.get("SONGKHOE_DTQG_APP_NAME", "").strip(),
        dtqg_app_key=env.get("SONGKHOE_DTQG_APP_KEY", ""),
    )


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a sqlite:/// URL, without its query string (`?timeout=20`), or None for
    other backends, in-memory databases, `file:` URIs and URLs SQLAlchemy does not parse."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if "uri" in url.query or database.startswith("file:"):
        return None
    return Path(database)
