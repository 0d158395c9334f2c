"""The tenants file: who the tenants are, their secrets, and how webhooks reach them."""

import hashlib
import hmac
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from contracts.enums import BookingStatus

ENV_PREFIX = "env:"


class TenantsFileError(ValueError):
    """The tenants file is missing, malformed, or names an unset environment variable."""


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MetaApp(_Section):
    app_secret: SecretStr
    verify_token: SecretStr


class MailgunConfig(_Section):
    signing_key: SecretStr


class EmailConfig(_Section):
    basic_auth: SecretStr = Field(description='"user:password" for SendGrid and Postmark')

    @field_validator("basic_auth")
    @classmethod
    def _user_and_password(cls, value: SecretStr) -> SecretStr:
        if ":" not in value.get_secret_value():
            raise ValueError('must be "user:password"')
        return value


class SmtpConfig(_Section):
    """(v1.1) ``[tenants.smtp]``: the server replies to email go out through."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    #: STARTTLS after connecting (port 587); ``tls`` for a TLS connection from the start (465).
    starttls: bool = True
    tls: bool = False
    from_address: str = Field(alias="from", description="the From address of replies")


class Tenant(_Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    name: str
    default_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    api_keys: list[SecretStr] = Field(default_factory=list)
    reference_pattern: re.Pattern[str] | None = None
    counted_statuses: list[BookingStatus] = Field(
        default_factory=lambda: [BookingStatus.CONFIRMED, BookingStatus.COMPLETED]
    )
    whatsapp_phone_number_ids: list[str] = Field(default_factory=list)
    instagram_account_ids: list[str] = Field(default_factory=list)
    messenger_page_ids: list[str] = Field(default_factory=list)
    sms_numbers: list[str] = Field(default_factory=list)
    #: (v1.1) The Graph API access token WhatsApp media is fetched and replies are sent with
    #: (an ``env:`` value).
    whatsapp_access_token: SecretStr | None = None
    #: (v1.1) The WhatsApp Business Account whose approved templates the reply box lists.
    whatsapp_business_account_id: str | None = None
    #: (v1.1) Messenger replies: each page's access token, by page id.
    messenger_page_tokens: dict[str, SecretStr] = Field(default_factory=dict)
    #: (v1.1) Instagram replies: the Instagram account's access token.
    instagram_access_token: SecretStr | None = None
    #: (v1.1) Email replies.
    smtp: SmtpConfig | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    #: (v1.1) Messaging Services whose webhooks are this tenant's (``MessagingServiceSid``).
    twilio_messaging_service_sids: list[str] = Field(default_factory=list)
    #: (v1.1) The key of Twilio's HMAC-SHA256 webhook signing, when the tenant turned it on.
    twilio_webhook_signing_key: SecretStr | None = None
    #: (v1.1) A whole-body STOP or START on a number without Advanced Opt-Out is consent.
    sms_keyword_opt_out: bool = True
    #: (v1.1) Meta's human agent tag: Messenger and Instagram replies allowed for 7 days.
    human_agent: bool = False
    email_addresses: list[str] = Field(default_factory=list)
    #: (v1.1) SendGrid's Inbound Parse signing public key (base64 DER or PEM); when set,
    #: unsigned or wrongly signed SendGrid requests for this tenant are refused.
    sendgrid_public_key: str | None = None

    @field_validator("email_addresses")
    @classmethod
    def _lower_case(cls, value: list[str]) -> list[str]:
        return [address.strip().lower() for address in value]


class TenantsConfig(_Section):
    meta: MetaApp | None = None
    mailgun: MailgunConfig | None = None
    email: EmailConfig | None = None
    tenants: list[Tenant] = Field(default_factory=list)

    @field_validator("tenants")
    @classmethod
    def _unique_ids(cls, value: list[Tenant]) -> list[Tenant]:
        seen: set[str] = set()
        for tenant in value:
            if tenant.id in seen:
                raise ValueError(f"tenant id {tenant.id!r} appears twice")
            seen.add(tenant.id)
        return value


def without_plus_tag(address: str) -> str:
    """``bookings+ABC-123456@acme.example`` without its tag: ``bookings@acme.example``.

    The domain is what follows the last ``@`` (a quoted local part may hold one too).
    """
    local, at, domain = address.rpartition("@")
    return local.split("+", 1)[0] + at + domain


class TenantDirectory:
    """Looks tenants up by the identifiers providers send."""

    def __init__(self, config: TenantsConfig) -> None:
        self.config = config
        self._by_id = {tenant.id: tenant for tenant in config.tenants}
        self._by_whatsapp: dict[str, Tenant] = {}
        self._by_instagram: dict[str, Tenant] = {}
        self._by_messenger: dict[str, Tenant] = {}
        self._by_twilio: dict[str, Tenant] = {}
        self._by_email: dict[str, Tenant] = {}
        self._by_email_domain: dict[str, Tenant] = {}
        for tenant in config.tenants:
            self._index(self._by_whatsapp, tenant.whatsapp_phone_number_ids, tenant)
            self._index(self._by_instagram, tenant.instagram_account_ids, tenant)
            self._index(self._by_messenger, tenant.messenger_page_ids, tenant)
            if tenant.twilio_account_sid:
                self._index(self._by_twilio, [tenant.twilio_account_sid], tenant)
            for address in tenant.email_addresses:
                if address.startswith("@"):
                    self._index(self._by_email_domain, [address[1:]], tenant)
                else:
                    self._index(self._by_email, [without_plus_tag(address)], tenant)

    @staticmethod
    def _index(index: dict[str, Tenant], keys: Iterable[str], tenant: Tenant) -> None:
        for key in keys:
            owner = index.get(key)
            if owner is not None and owner.id != tenant.id:
                raise TenantsFileError(
                    f"{key!r} is claimed by both tenant {owner.id!r} and tenant {tenant.id!r}"
                )
            index[key] = tenant

    @property
    def tenants(self) -> list[Tenant]:
        return self.config.tenants

    def get(self, tenant_id: str) -> Tenant | None:
        return self._by_id.get(tenant_id)

    def by_whatsapp_phone_number_id(self, phone_number_id: str) -> Tenant | None:
        return self._by_whatsapp.get(phone_number_id)

    def by_instagram_account_id(self, account_id: str) -> Tenant | None:
        return self._by_instagram.get(account_id)

    def by_messenger_page_id(self, page_id: str) -> Tenant | None:
        return self._by_messenger.get(page_id)

    def by_twilio_account_sid(self, account_sid: str) -> Tenant | None:
        return self._by_twilio.get(account_sid)

    def by_email_address(self, address: str) -> Tenant | None:
        """The tenant receiving at ``address``; any ``+tag`` in the local part is ignored."""
        normalised = without_plus_tag(address.strip().lower())
        tenant = self._by_email.get(normalised)
        if tenant is not None:
            return tenant
        return self._by_email_domain.get(normalised.rpartition("@")[2])

    def by_api_key(self, presented: str) -> Tenant | None:
        """The tenant owning ``presented``, comparing every key in constant time."""
        found: Tenant | None = None
        candidate = hashlib.sha256(presented.encode()).digest()
        for tenant in self.config.tenants:
            for key in tenant.api_keys:
                expected = hashlib.sha256(key.get_secret_value().encode()).digest()
                if hmac.compare_digest(candidate, expected):
                    found = tenant
        return found


def _resolve_env(value: Any, path: str, environ: Mapping[str, str]) -> Any:
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX) :]
        if not name:
            raise TenantsFileError(f"{path}: 'env:' must be followed by a variable name")
        if name not in environ:
            raise TenantsFileError(f"{path}: environment variable {name} is not set")
        return environ[name]
    if isinstance(value, dict):
        return {key: _resolve_env(item, f"{path}.{key}", environ) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve_env(item, f"{path}[{index}]", environ) for index, item in enumerate(value)]
    return value


def _describe(error: ValidationError, raw: Mapping[str, Any]) -> str:
    lines = []
    for item in error.errors():
        parts: list[str] = []
        node: Any = raw
        for loc in item["loc"]:
            if isinstance(loc, int) and isinstance(node, list) and loc < len(node):
                node = node[loc]
                tenant_id = node.get("id") if isinstance(node, dict) else None
                parts.append(f"[{tenant_id!r}]" if tenant_id else f"[{loc}]")
            else:
                node = node.get(loc) if isinstance(node, dict) else None
                parts.append(f".{loc}")
        lines.append(f"{''.join(parts).lstrip('.')}: {item['msg']}")
    return "; ".join(lines)


def parse_tenants(text: str, *, environ: Mapping[str, str] | None = None) -> TenantDirectory:
    """Parse a tenants file's text, resolving ``env:NAME`` references from ``environ``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise TenantsFileError(f"not valid TOML: {error}") from error
    resolved = _resolve_env(raw, "", os.environ if environ is None else environ)
    try:
        config = TenantsConfig.model_validate(resolved)
    except ValidationError as error:
        raise TenantsFileError(_describe(error, resolved)) from error
    return TenantDirectory(config)


def load_tenants(path: Path, *, environ: Mapping[str, str] | None = None) -> TenantDirectory:
    """Read and parse the tenants file at ``path``; errors name the file and the key."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise TenantsFileError(f"{path}: cannot read tenants file: {error.strerror}") from error
    try:
        return parse_tenants(text, environ=environ)
    except TenantsFileError as error:
        raise TenantsFileError(f"{path}: {error}") from error
