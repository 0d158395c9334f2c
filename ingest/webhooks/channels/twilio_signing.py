"""Twilio's webhook signatures: HMAC-SHA1 under the auth token, or (v1.1) the algorithm and
key of Twilio's webhook settings, over the URL and the form's parameters or the body's hash."""

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from ingest.webhooks.channels.base import Headers, ParseError

#: (v1.1) Sent when a Webhook Rule of Twilio's Webhooks configuration API matched the URL:
#: ``key=<SharedKey id>,algorithm=HMAC_SHA256``. The signature in ``X-Twilio-Signature`` is then
#: made with that SharedKey's secret and algorithm instead of the auth token and HMAC-SHA1.
SIGNATURE_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
_ALGORITHMS = {"HMAC_SHA1": "sha1", "HMAC_SHA256": "sha256"}

_DEFAULT_PORTS = {"https": 443, "http": 80}


def verify(
    raw: bytes, headers: Headers, url: str, auth_token: str | None, signing_key: str | None = None
) -> bool:
    """Whether ``X-Twilio-Signature`` signs this request to ``url``.

    Without ``X-Twilio-Webhooks-Signature-Settings`` the signature is HMAC-SHA1 keyed with the
    account's ``auth_token``. With it, it is made with the algorithm the header names (HMAC-SHA1
    or HMAC-SHA256) keyed with the tenant's ``signing_key``, the secret of Twilio's SharedKey;
    without that key the request is refused, never checked against the auth token instead.

    What is signed is the same either way: ``url`` (the public URL Twilio called, query
    included), then each POST parameter's name and value sorted by name, base64-encoded. When
    the URL carries ``bodySHA256`` (JSON bodies) the body is checked against that hex SHA-256
    and no parameters are signed. Either form of the URL's default port is accepted, as in
    Twilio's own SDKs, because Twilio is not consistent about it.
    """
    presented = headers.get("x-twilio-signature", "").strip()
    if not presented:
        return False
    secret, algorithm = _signing(headers, auth_token, signing_key)
    if not secret or algorithm is None:
        return False
    body_hash = parse_qs(urlsplit(url).query).get("bodySHA256")
    if body_hash:
        signed: list[tuple[str, str]] = []
        expected_hash = hashlib.sha256(raw).hexdigest().encode()
        if not hmac.compare_digest(expected_hash, body_hash[0].encode()):
            return False
    else:
        try:
            signed = params(raw)
        except ParseError:
            return False
    valid = False
    for candidate in _url_variants(url):
        # Every variant is computed so the time taken does not say which one matched.
        expected = _signature(candidate, signed, secret, algorithm)
        valid |= hmac.compare_digest(expected.encode(), presented.encode())
    return valid


def signature_algorithm(settings: str) -> str | None:
    """The ``hashlib`` name of the algorithm ``X-Twilio-Webhooks-Signature-Settings`` names,
    or None when it names none this service knows (the request is then refused)."""
    for part in settings.split(","):
        name, _, value = part.partition("=")
        if name.strip().lower() == "algorithm":
            return _ALGORITHMS.get(value.strip().upper().replace("-", "_"))
    return None


def params(raw: bytes) -> list[tuple[str, str]]:
    """The form's parameters in order, repeated names included."""
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as error:
        raise ParseError(f"Twilio body is not a valid form: {error}") from error


def _signing(
    headers: Headers, auth_token: str | None, signing_key: str | None
) -> tuple[str | None, str | None]:
    """The secret and ``hashlib`` algorithm the request says it is signed with."""
    settings = headers.get(SIGNATURE_SETTINGS_HEADER, "").strip()
    if not settings:
        return auth_token, "sha1"
    # The SharedKey's id in ``key=`` is not compared: a tenant has one signing key.
    return signing_key, signature_algorithm(settings)


def _signature(url: str, params: list[tuple[str, str]], secret: str, algorithm: str) -> str:
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    signed = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    digest = hmac.new(secret.encode(), signed.encode(), algorithm).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """``url`` as given, and with its scheme's default port added or removed."""
    variants = [url]
    parts = urlsplit(url)
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    try:
        port = parts.port
    except ValueError:
        return variants
    if default is None or not parts.netloc:
        return variants
    if port is None:
        variants.append(urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}")))
    elif port == default:
        netloc = parts.netloc[: parts.netloc.rfind(":")]
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    return variants
