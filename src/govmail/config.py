"""Settings: one TOML file plus ``GOVMAIL_*`` environment variables.

Precedence (highest first): environment variables, the TOML file, the defaults below.
Nested keys map to variables with ``__``: ``listeners.smtp_port`` is
``GOVMAIL_LISTENERS__SMTP_PORT``. The file is ``$GOVMAIL_CONFIG`` or ``./govmail.toml``.

Every field carries a description: ``govmail init`` writes them as comments and
``docs/configuration.md`` is checked against them by a test.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = "govmail.toml"
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


class ConfigError(Exception):
    """A setting is invalid; the message names the key and what is wrong."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class GeneralSettings(_Section):
    data_dir: Path = Field(
        Path("./data"),
        description="Directory holding the database, blobs, TLS keys and queue state.",
    )
    hostname: str = Field(
        "localhost",
        description="This server's own host name, used in SMTP greetings and Received headers.",
    )
    language: Literal["vi", "en"] = Field("vi", description="Default interface language.")
    timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="Time zone for reminders, reports and working days."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log output: 'text' for people, 'json' for log collectors."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level of log messages written."
    )

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, v: str) -> str:
        v = v.strip().lower().rstrip(".")
        if not _HOSTNAME_RE.match(v):
            raise ValueError(f"'{v}' is not a valid DNS host name")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{v}'") from exc
        return v


class DatabaseSettings(_Section):
    url: str = Field(
        "",
        description=(
            "SQLAlchemy URL. Empty: SQLite file govmail.db in data_dir. "
            "PostgreSQL: postgresql+asyncpg://user@host:5432/dbname"
        ),
    )
    pool_size: int = Field(10, ge=1, le=200, description="PostgreSQL connection pool size.")
    echo_sql: bool = Field(False, description="Log every SQL statement (debugging only).")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            raise ValueError(
                "must start with 'sqlite+aiosqlite://' or 'postgresql+asyncpg://' (or be empty)"
            )
        return v


def _empty_to_none(v: Any) -> Any:
    return None if v == "" else v


class BlobSettings(_Section):
    path: Path | None = Field(
        None, description="Directory for message blobs. Empty: data_dir/blobs."
    )

    _none = field_validator("path", mode="before")(_empty_to_none)


class TlsSettings(_Section):
    cert_file: Path | None = Field(
        None,
        description="PEM certificate chain. Empty: a self-signed certificate made on first start.",
    )
    key_file: Path | None = Field(None, description="PEM private key for cert_file.")
    min_version: Literal["TLSv1.2", "TLSv1.3"] = Field(
        "TLSv1.2", description="Oldest TLS version accepted."
    )

    _none = field_validator("cert_file", "key_file", mode="before")(_empty_to_none)


class ListenerSettings(_Section):
    bind: list[str] = Field(
        ["127.0.0.1"],
        description="Addresses to listen on. The default is loopback only.",
    )
    smtp_port: int = Field(10025, ge=0, le=65535, description="Inbound MX (port 25 in production).")
    submission_port: int = Field(
        10587, ge=0, le=65535, description="Submission with STARTTLS (587 in production)."
    )
    submissions_port: int = Field(
        10465, ge=0, le=65535, description="Submission with implicit TLS (465 in production)."
    )
    imap_port: int = Field(10143, ge=0, le=65535, description="IMAP with STARTTLS (143).")
    imaps_port: int = Field(10993, ge=0, le=65535, description="IMAP with implicit TLS (993).")
    pop3_port: int = Field(10110, ge=0, le=65535, description="POP3 with STLS (110).")
    pop3s_port: int = Field(10995, ge=0, le=65535, description="POP3 with implicit TLS (995).")
    http_port: int = Field(8080, ge=0, le=65535, description="Web: webmail, admin, API (80/443).")
    allow_plaintext_auth_on_loopback: bool = Field(
        True,
        description="Allow passwords without TLS on loopback connections (never elsewhere).",
    )

    @field_validator("bind")
    @classmethod
    def _bind(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("needs at least one address")
        for addr in v:
            try:
                ipaddress.ip_address(addr)
            except ValueError as exc:
                raise ValueError(f"'{addr}' is not an IP address") from exc
        return v


class LimitSettings(_Section):
    max_message_size: int = Field(
        50 * 1024 * 1024, ge=1024, description="Largest message accepted, in bytes (SMTP SIZE)."
    )
    max_recipients: int = Field(
        500, ge=1, le=100_000, description="Most recipients in one SMTP transaction."
    )
    max_connections_per_ip: int = Field(
        50, ge=1, description="Concurrent connections allowed from one IP address."
    )
    messages_per_minute_per_ip: int = Field(
        600, ge=1, description="Inbound messages per minute from one IP address."
    )
    sends_per_hour_per_user: int = Field(
        1000, ge=1, description="Messages one authenticated user may submit per hour."
    )
    default_quota_mb: int = Field(
        2048, ge=0, description="Default mailbox quota in MiB (0 = unlimited)."
    )


class AuthSettings(_Section):
    max_failures_per_account: int = Field(
        10, ge=1, description="Failed logins on one account before it is locked temporarily."
    )
    max_failures_per_ip: int = Field(
        30, ge=1, description="Failed logins from one IP address before it is locked temporarily."
    )
    lockout_minutes: int = Field(15, ge=1, description="How long a lockout lasts.")


class DirectorySettings(_Section):
    address_template: str = Field(
        "{given}{initials}",
        description=(
            "Default local-part template for new personal mailboxes. Placeholders: "
            "{given} {family} {middle} {initials} (family+middle initials) {given_initial}."
        ),
    )
    reserved_local_parts: list[str] = Field(
        [
            "postmaster",
            "abuse",
            "hostmaster",
            "webmaster",
            "admin",
            "root",
            "mailer-daemon",
            "noreply",
            "no-reply",
            "vanthu",
            "security",
            "support",
        ],
        description="Local parts that are never given to a person.",
    )
    alias_keep_days: int = Field(
        180, ge=0, description="After a transfer, days the old address keeps working as an alias."
    )
    archive_retention_days: int = Field(
        1825,
        ge=0,
        description="Days an archived (departed) mailbox is kept before deletion; "
        "its address is not reused meanwhile.",
    )


class QueueSettings(_Section):
    max_lifetime_hours: int = Field(
        120, ge=1, description="Give up on a remote delivery after this many hours (5 days)."
    )
    delay_notice_hours: int = Field(
        4, ge=1, description="Send a delay notice to the sender after this many hours."
    )
    smarthost: str = Field(
        "", description="Relay all outbound mail through host:port (empty: direct MX delivery)."
    )
    smarthost_username: str = Field("", description="Login for the smarthost.")
    smarthost_password: str = Field("", description="Password for the smarthost.")
    dns_servers: list[str] = Field(
        [], description="DNS resolvers to use (empty: the system resolver)."
    )
    dns_port: int = Field(53, ge=1, le=65535, description="Port of the DNS resolvers above.")
    source_address: str = Field(
        "",
        description="Local IPv4 address outbound connections come from (empty: the system's "
        "choice); it must match the SPF record of the hosted domains.",
    )
    remote_smtp_port: int = Field(
        25, ge=1, le=65535, description="Port used to reach remote MX hosts (25)."
    )


class PolicySettings(_Section):
    dmarc_mode: Literal["reject", "quarantine", "off"] = Field(
        "reject",
        description="What a DMARC failure does: 'reject' honours p=reject and p=quarantine, "
        "'quarantine' files even p=reject failures in Junk, 'off' only records the result.",
    )
    trusted_networks: list[str] = Field(
        [], description="Networks (CIDR) of our own relays: SPF is not checked for them."
    )

    @field_validator("trusted_networks")
    @classmethod
    def _networks(cls, v: list[str]) -> list[str]:
        for net in v:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError as exc:
                raise ValueError(f"'{net}' is not a network (CIDR)") from exc
        return v


# --- Operations (issue 8): filtering, backups, archive, monitoring -----------------------


class SpamSettings(_Section):
    enabled: bool = Field(True, description="Score mail from the Internet for spam.")
    engine: Literal["embedded", "rspamd"] = Field(
        "embedded",
        description="'embedded': built-in heuristics, SPF/DKIM/DMARC results and a Bayesian "
        "classifier; 'rspamd': ask rspamd (rspamd_url) instead.",
    )
    junk_score: float = Field(
        5.0, description="Score from which a message is delivered to the Junk folder."
    )
    reject_score: float = Field(
        15.0, description="Score from which a message is refused at SMTP time (550)."
    )
    bayes_min_messages: int = Field(
        20,
        ge=1,
        description="The Bayesian classifier is used once it has learnt at least this many "
        "spam and this many legitimate messages (from moves into and out of Junk).",
    )
    rspamd_url: str = Field(
        "http://127.0.0.1:11333", description="rspamd's normal worker (HTTP API, /checkv2)."
    )
    rspamd_password: str = Field("", description="Password sent to rspamd (empty: none).")
    timeout_seconds: float = Field(
        10.0, gt=0, description="How long to wait for rspamd before applying on_failure."
    )
    on_failure: Literal["tempfail", "tag"] = Field(
        "tempfail",
        description="When rspamd cannot be reached: 'tempfail' answers 451 (the sender "
        "retries), 'tag' accepts the message with X-Spam-Status: unscanned.",
    )


class AntivirusSettings(_Section):
    enabled: bool = Field(
        False, description="Scan every message with ClamAV (clamd) before it is stored."
    )
    clamd_socket: str = Field(
        "/run/clamav/clamd.ctl",
        description="clamd's Unix socket (used when clamd_host is empty).",
    )
    clamd_host: str = Field("", description="clamd's TCP host (empty: use clamd_socket).")
    clamd_port: int = Field(3310, ge=1, le=65535, description="clamd's TCP port.")
    timeout_seconds: float = Field(
        30.0, gt=0, description="How long to wait for clamd before applying on_failure."
    )
    on_failure: Literal["tempfail", "tag"] = Field(
        "tempfail",
        description="When clamd cannot scan: 'tempfail' answers 451 (the sender retries), "
        "'tag' accepts the message with X-Virus-Status: unscanned. Never a silent pass.",
    )


class AttachmentSettings(_Section):
    enabled: bool = Field(True, description="Apply the attachment-type policy.")
    blocked_categories: list[str] = Field(
        ["executable", "script", "macro"],
        description="Kinds of attachment refused unless an agency overrides them: "
        "executable, script, macro (macro-enabled Office files), archive (any zip).",
    )
    blocked_extensions: list[str] = Field(
        [], description="More file name extensions refused (without the dot)."
    )
    max_mime_depth: int = Field(
        20, ge=2, le=50, description="Most levels of nested MIME parts accepted."
    )
    max_archive_ratio: int = Field(
        100, ge=2, description="Largest expansion ratio of a zip attachment (zip bombs)."
    )
    max_archive_bytes: int = Field(
        500 * 1024 * 1024,
        ge=1024,
        description="Largest total uncompressed size of a zip attachment, in bytes.",
    )


class BackupSettings(_Section):
    target: str = Field(
        "",
        description="Where backups go: a directory, or s3://bucket/prefix on an "
        "S3-compatible store. Empty: data_dir/backups.",
    )
    daily_at: str = Field(
        "02:00",
        description="Local time (general.timezone) of the daily backup, HH:MM; empty: no "
        "scheduled backup.",
    )
    keep: int = Field(14, ge=1, description="Snapshots kept; older ones are pruned.")
    s3_endpoint: str = Field(
        "", description="S3-compatible endpoint URL, e.g. https://s3.example.vn."
    )
    s3_region: str = Field("us-east-1", description="S3 region used in request signatures.")
    s3_access_key: str = Field("", description="S3 access key id.")
    s3_secret_key: str = Field("", description="S3 secret key.")

    @field_validator("daily_at")
    @classmethod
    def _time(cls, v: str) -> str:
        v = v.strip()
        if v and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError("must be HH:MM (24-hour) or empty")
        return v


class ArchiveSettings(_Section):
    agencies: list[str] = Field(
        [],
        description="Agency codes whose mail (sent and received, sub-units included) is "
        "journalled; empty: no journal.",
    )
    retention_days: int = Field(
        3650, ge=1, description="Days a journal entry is kept (unless under legal hold)."
    )


class MonitoringSettings(_Section):
    metrics_token: str = Field(
        "",
        description="Bearer token for /metrics and /ops/* from other hosts; empty: loopback only.",
    )


class DocumentSettings(_Section):
    reminder_times: list[str] = Field(
        ["08:00", "13:30"],
        description="Local times (general.timezone) of the reminder digests, HH:MM, "
        "Monday to Friday.",
    )
    trust_anchors: list[Path] = Field(
        [], description="PEM files of the root certificates trusted for document signatures."
    )
    timestamp_url: str = Field(
        "", description="RFC 3161 time-stamping server for PAdES B-T signatures (empty: B-B)."
    )
    web_url: str = Field(
        "", description="Public base URL of the web doors, used for links in reminders."
    )

    @field_validator("reminder_times")
    @classmethod
    def _times(cls, v: list[str]) -> list[str]:
        for t in v:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t):
                raise ValueError(f"'{t}' is not a time HH:MM")
        return v


class Settings(BaseSettings):
    """All govmail settings."""

    model_config = SettingsConfigDict(
        env_prefix="GOVMAIL_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    general: GeneralSettings = Field(default_factory=GeneralSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    blobs: BlobSettings = Field(default_factory=BlobSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    listeners: ListenerSettings = Field(default_factory=ListenerSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    directory: DirectorySettings = Field(default_factory=DirectorySettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    documents: DocumentSettings = Field(default_factory=DocumentSettings)
    spam: SpamSettings = Field(default_factory=SpamSettings)
    antivirus: AntivirusSettings = Field(default_factory=AntivirusSettings)
    attachments: AttachmentSettings = Field(default_factory=AttachmentSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)

    _toml_file: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _CURRENT_TOML.get("path")
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    # Derived locations -------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.general.data_dir.expanduser().resolve()

    @property
    def database_url(self) -> str:
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{self.data_dir / 'govmail.db'}"

    @property
    def blob_dir(self) -> Path:
        return (self.blobs.path or self.data_dir / "blobs").expanduser().resolve()

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"


_CURRENT_TOML: dict[str, Path | None] = {"path": None}


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("GOVMAIL_CONFIG", DEFAULT_CONFIG_FILE))


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Load settings from the TOML file (if it exists) and the environment.

    Raises ConfigError naming the offending key, its source and the problem.
    """
    file = config_path(path)
    toml_path: Path | None = file if file.is_file() else None
    if path is not None and toml_path is None:
        raise ConfigError(f"configuration file {file} does not exist")
    if toml_path is not None:
        try:
            with toml_path.open("rb") as fh:
                tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{toml_path}: not valid TOML: {exc}") from exc
    _CURRENT_TOML["path"] = toml_path
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, toml_path)) from None
    finally:
        _CURRENT_TOML["path"] = None
    settings._toml_file = toml_path
    return settings


def _describe(exc: ValidationError, toml_path: Path | None) -> str:
    lines = ["invalid configuration:"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        env = "GOVMAIL_" + "__".join(str(p).upper() for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown setting"
        where = f" (in {toml_path} or ${env})" if toml_path else f" (${env})"
        value = err.get("input")
        shown = (
            ""
            if err["type"] == "extra_forbidden" or isinstance(value, dict)
            else f", got {value!r}"
        )
        lines.append(f"  {key}: {msg}{shown}{where}")
    return "\n".join(lines)


def iter_fields() -> list[tuple[str, str, Any, str]]:
    """(section, key, default, description) for every setting, in declaration order."""
    out: list[tuple[str, str, Any, str]] = []
    for section, finfo in Settings.model_fields.items():
        model = finfo.default_factory() if finfo.default_factory else finfo.default  # type: ignore[call-arg]
        for key, f in type(model).model_fields.items():
            out.append((section, key, getattr(model, key), f.description or ""))
    return out


def default_toml() -> str:
    """The commented default configuration file written by ``govmail init``."""
    lines = [
        "# govmail configuration. Every key may also be set by an environment variable:",
        "# section.key -> GOVMAIL_SECTION__KEY (e.g. GOVMAIL_LISTENERS__SMTP_PORT=25).",
        "# Documentation: docs/configuration.md",
        "",
    ]
    current = None
    for section, key, default, desc in iter_fields():
        if section != current:
            if current is not None:
                lines.append("")
            lines.append(f"[{section}]")
            current = section
        lines.append(f"# {desc}")
        if default is None:
            lines.append(f'# {key} = ""')
        else:
            lines.append(f"{key} = {_toml_value(default)}")
    return "\n".join(lines) + "\n"


def _toml_value(v: Any) -> str:
    import tomli_w

    return tomli_w.dumps({"v": str(v) if isinstance(v, Path) else v}).split("=", 1)[1].strip()


def reference_markdown() -> str:
    """The settings table of docs/configuration.md (a test keeps the two identical)."""
    out: list[str] = []
    current = None
    for section, key, default, desc in iter_fields():
        if section != current:
            out += [
                "",
                f"### [{section}]",
                "",
                "| key | default | environment variable | meaning |",
                "|---|---|---|---|",
            ]
            current = section
        if default in (None, "", []):
            shown = "(empty)"
        elif isinstance(default, list):
            shown = "`" + ", ".join(str(x) for x in default) + "`"
        else:
            shown = f"`{_toml_value(default)}`"
        env = f"`GOVMAIL_{section.upper()}__{key.upper()}`"
        out.append(f"| `{key}` | {shown} | {env} | {desc} |")
    return "\n".join(out).strip() + "\n"
