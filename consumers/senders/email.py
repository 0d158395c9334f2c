"""Email replies over SMTP (aiosmtplib), threaded as mail clients thread them: our
``Message-ID``, ``In-Reply-To`` the customer's last message and ``References`` its chain
(RFC 5322, section 3.6.4), and the thread's subject."""

import contextlib
import email.utils
from email.message import EmailMessage

import aiosmtplib

from consumers.senders import Outcome, Outgoing, Refused, Sent, Unknown
from consumers.senders.http import UNREACHABLE_WAIT
from contracts import Settings


def email_message(outgoing: Outgoing, sender: str) -> EmailMessage:
    threading = outgoing.email
    message = EmailMessage()
    message["From"] = sender
    message["To"] = outgoing.recipient
    message["Subject"] = threading.subject if threading else "A message from us"
    message["Date"] = email.utils.formatdate(usegmt=True)
    if threading is not None:
        message["Message-ID"] = f"<{threading.message_id}>"
        if threading.in_reply_to:
            message["In-Reply-To"] = f"<{threading.in_reply_to}>"
        if threading.references:
            message["References"] = " ".join(f"<{ref}>" for ref in threading.references)
    message.set_content(outgoing.text or "")
    for file in outgoing.attachments:
        major, _, minor = file.mime_type.partition("/")
        message.add_attachment(
            file.data,
            maintype=major or "application",
            subtype=minor or "octet-stream",
            filename=file.filename,
        )
    return message


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.media_fetch_timeout.total_seconds()

    async def send(self, outgoing: Outgoing) -> Outcome:
        smtp = outgoing.tenant.smtp
        if smtp is None:
            return Refused("not_configured", "the tenant has no [tenants.smtp]")
        message = email_message(outgoing, smtp.from_address)
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            use_tls=smtp.tls,
            start_tls=smtp.starttls if not smtp.tls else False,
            timeout=self.timeout,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPConnectTimeoutError, OSError) as error:
            return Refused(
                "unreachable",
                f"the SMTP server could not be reached: {error}",
                retry_after=UNREACHABLE_WAIT,
            )
        try:
            if smtp.username and smtp.password:
                await client.login(smtp.username, smtp.password.get_secret_value())
            await client.send_message(message)
        except aiosmtplib.SMTPResponseException as error:
            # Refused before the message was accepted: 4xx for now, 5xx for good.
            wait = UNREACHABLE_WAIT * 6 if 400 <= error.code < 500 else None
            return Refused(str(error.code), error.message, retry_after=wait)
        except (aiosmtplib.SMTPException, OSError) as error:
            return Unknown(f"the SMTP session ended without an answer: {type(error).__name__}")
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        threading = outgoing.email
        return Sent(threading.message_id if threading else str(message["Message-ID"]).strip("<>"))
