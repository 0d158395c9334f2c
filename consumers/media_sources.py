"""(v1.1) The provider requests that fetch an attachment's file, built without I/O.

- WhatsApp (Cloud API, "Media" reference: developers.facebook.com/docs/whatsapp/cloud-api/
  reference/media): ``GET {GRAPH_API_URL}/{version}/{media-id}`` with the tenant's access
  token answers a short-lived download URL, fetched with the same token.
- Twilio (Media resource, twilio.com/docs/messaging/api/media-resource): ``MediaUrlN`` with
  the account SID and auth token as HTTP Basic credentials; it redirects to a CDN that needs
  none.
- Messenger and Instagram: the attachment's signed CDN URL, as it is.

Credentials go only to the origin they belong to (``Fetch.credentials_for``): a redirect
elsewhere is followed without them.
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from contracts import Settings, Tenant


class Unavailable(Exception):
    """The file cannot be fetched, and trying again will not change that."""


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


@dataclass(frozen=True, slots=True)
class Fetch:
    """One GET, and the origin its credentials may be sent to."""

    url: str
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
    credentials_for: tuple[str, str, int | None] | None = None

    def headers_for(self, url: str) -> dict[str, str]:
        """The credentials, when ``url`` (this request or a redirect) is their origin."""
        return dict(self.credentials) if origin(url) == self.credentials_for else {}


def graph_lookup(settings: Settings, tenant: Tenant, media_id: str) -> Fetch:
    token = _whatsapp_token(tenant)
    url = f"{settings.graph_api_url.rstrip('/')}/{settings.graph_api_version}/{media_id}"
    return Fetch(url, {"Authorization": f"Bearer {token}"}, origin(settings.graph_api_url))


def graph_download(tenant: Tenant, lookup: dict[str, Any]) -> tuple[Fetch, int | None, str | None]:
    """The download the lookup's answer names, with the size and sha256 it announces."""
    url = lookup.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise Unavailable("the Graph API answered no media URL")
    size = _int(lookup.get("file_size"))
    digest = lookup.get("sha256")
    token = _whatsapp_token(tenant)
    fetch = Fetch(url, {"Authorization": f"Bearer {token}"}, origin(url))
    return fetch, size, digest if isinstance(digest, str) else None


def twilio_media(settings: Settings, tenant: Tenant, url: str) -> Fetch:
    if tenant.twilio_account_sid is None or tenant.twilio_auth_token is None:
        raise Unavailable("the tenant has no twilio_account_sid and twilio_auth_token")
    pair = f"{tenant.twilio_account_sid}:{tenant.twilio_auth_token.get_secret_value()}"
    basic = base64.b64encode(pair.encode()).decode()
    return Fetch(url, {"Authorization": f"Basic {basic}"}, origin(settings.twilio_api_url))


def cdn(url: str) -> Fetch:
    return Fetch(url)


def digest_matches(digest: bytes, announced: str) -> bool | None:
    """Whether ``digest`` (SHA-256) is the one announced, written in hex or in base64 (the
    webhooks' form); None when the announcement is neither."""
    text = announced.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text) == digest
        except ValueError:
            pass
    try:
        return base64.b64decode(text, validate=True) == digest
    except (binascii.Error, ValueError):
        return None


def refusal(status: int, body: bytes) -> str:
    """Why a provider refused, in its own words when it gave some (Graph's ``error.message``,
    Twilio's ``message``)."""
    detail = ""
    try:
        parsed = json.loads(body[:4096])
    except ValueError:
        detail = body[:200].decode("utf-8", "replace").strip()
    else:
        if isinstance(parsed, dict):
            error = parsed.get("error")
            message = error.get("message") if isinstance(error, dict) else parsed.get("message")
            detail = str(message or "")[:200]
    return f"answered {status}" + (f": {detail}" if detail else "")


def _whatsapp_token(tenant: Tenant) -> str:
    if tenant.whatsapp_access_token is None:
        raise Unavailable("the tenant has no whatsapp_access_token")
    return tenant.whatsapp_access_token.get_secret_value()


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)  # Meta's examples give the size as a string
    return None
