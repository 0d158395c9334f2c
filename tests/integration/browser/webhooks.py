"""Webhooks the browser tests post, signed as their providers sign them."""

import json
import struct
import time
import zlib
from typing import Any

from tests.integration.browser.conftest import Stack
from tests.signing import meta_signature

PHONE_NUMBER_ID = "106540352242922"
WA_ID = "447911123456"


def png(width: int = 240, height: int = 160) -> bytes:
    """A real PNG (a blue rectangle), so the browser has something to decode."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\x1d\x4e\xd8" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def whatsapp(message: dict[str, Any], name: str, wa_id: str) -> bytes:
    """A WhatsApp Cloud API ``messages`` webhook with one message from WA_ID, as
    https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples shows."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "timestamp": str(int(time.time())), **message}],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body).encode()


async def post_whatsapp(
    stack: Stack, message: dict[str, Any], name: str = "Sheena Nelson", wa_id: str = WA_ID
) -> None:
    """Post it signed with the app secret, as Meta does."""
    body = whatsapp(message, name, wa_id)
    answer = await stack.http.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
    )
    assert answer.status_code == 200, answer.text


async def post_whatsapp_status(stack: Stack, wamid: str, status: str, wa_id: str = WA_ID) -> None:
    """A WhatsApp ``statuses`` webhook for one of the business's messages."""
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [
            {
                "id": wamid,
                "status": status,
                "timestamp": str(int(time.time())),
                "recipient_id": wa_id,
            }
        ],
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}
            ],
        }
    ).encode()
    answer = await stack.http.post(
        "/webhooks/whatsapp",
        content=body,
        headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(body)},
    )
    assert answer.status_code == 200, answer.text


def text(wamid: str, words: str) -> dict[str, Any]:
    return {"id": wamid, "type": "text", "text": {"body": words}}
