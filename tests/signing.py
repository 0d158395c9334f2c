"""Signing requests the way each provider does, for tests and benchmarks."""

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

META_APP_SECRET = "e6af24be1d683c8c911949f897eea1f6"


def meta_signature(body: bytes, secret: str = META_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def twilio_signature(url: str, body: bytes, auth_token: str) -> str:
    params = parse_qsl(body.decode(), keep_blank_values=True)
    payload = url + "".join(f"{name}{value}" for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def whatsapp_text_payload(
    *,
    phone_number_id: str = "106540352242922",
    entries: int = 1,
    messages_per_entry: int = 1,
    wamid_prefix: str = "wamid.TEST",
    text: str = "Hello",
    wa_id: str = "16505551234",
    timestamp: int = 1749416383,
) -> bytes:
    """A WhatsApp Cloud API webhook body with ``entries`` times ``messages_per_entry`` texts."""
    entry: list[dict[str, Any]] = []
    for e in range(entries):
        messages = [
            {
                "from": wa_id,
                "id": f"{wamid_prefix}.{e}.{m}",
                "timestamp": str(timestamp + m),
                "type": "text",
                "text": {"body": text},
            }
            for m in range(messages_per_entry)
        ]
        entry.append(
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": wa_id}],
                            "messages": messages,
                        },
                    }
                ],
            }
        )
    return json.dumps({"object": "whatsapp_business_account", "entry": entry}).encode()
