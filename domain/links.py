"""(v1.1) Links to a reply's uploaded file that a provider fetches by URL (Twilio MMS,
Instagram): ``PUBLIC_BASE_URL/uploads/{id}?expires=…&signature=…``, signed with a key the
gateways and the workers derive alike from the tenants file's server-side secrets (or
``CURSOR_SECRET``), valid for an hour. Without either there is no key, and no link."""

import hashlib
import hmac
from datetime import datetime, timedelta

from contracts import Settings, TenantDirectory

LINK_LIFETIME = timedelta(hours=1)


def derived_key(settings: Settings, tenants: TenantDirectory, label: str) -> bytes | None:
    """A signing key every gateway and worker derives alike for ``label``: from
    ``CURSOR_SECRET``, else from the tenants file's server-side secrets (never from API keys,
    which clients hold); None when there are neither."""
    if settings.cursor_secret is not None:
        secret = settings.cursor_secret.get_secret_value()
        return hashlib.sha256(f"{label}:{secret}".encode()).digest()
    config = tenants.config
    server_side = [
        secret.get_secret_value()
        for secret in (
            config.meta.app_secret if config.meta else None,
            config.mailgun.signing_key if config.mailgun else None,
            config.email.basic_auth if config.email else None,
        )
        if secret is not None
    ]
    if not server_side:
        return None
    return hashlib.sha256("\n".join([label, *server_side]).encode()).digest()


def link_key(settings: Settings, tenants: TenantDirectory) -> bytes | None:
    return derived_key(settings, tenants, "upload-link")


def upload_link(base_url: str, upload_id: str, key: bytes, now: datetime) -> str:
    expires = int((now + LINK_LIFETIME).timestamp())
    signature = _sign(upload_id, expires, key)
    return f"{base_url.rstrip('/')}/uploads/{upload_id}?expires={expires}&signature={signature}"


def link_valid(upload_id: str, expires: int, signature: str, key: bytes, now: datetime) -> bool:
    return now.timestamp() <= expires and hmac.compare_digest(
        signature, _sign(upload_id, expires, key)
    )


def _sign(upload_id: str, expires: int, key: bytes) -> str:
    return hmac.new(key, f"{upload_id}:{expires}".encode(), hashlib.sha256).hexdigest()
