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
        self.timeout = settings.send_timeout.total_seconds()

    async def send(self, outgoing: Outgoing) -> Outcome:
        smtp = outgoing.tenant.smtp
        if smtp is None:
            return Refused("not_configured", "the tenant has no [tenants.smtp]")
        if outgoing.email is None:
            return Refused("no_threading", "an email reply needs its Message-ID")
        message = email_message(outgoing, smtp.from_address)
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            use_tls=smtp.tls,
            start_tls=smtp.starttls if not smtp.tls else False,
            timeout=self.timeout,
        )
        try:
            # Until DATA, a refusal or a lost connection sends nothing.
            try:
                await client.connect()
                if smtp.username and smtp.password:
                    await client.login(smtp.username, smtp.password.get_secret_value())
                await client.mail(smtp.from_address)
                await client.rcpt(outgoing.recipient)
            except aiosmtplib.SMTPResponseException as error:
                return _refused(error.code, error.message)
            except (aiosmtplib.SMTPException, OSError) as error:
                return Refused(
                    "unreachable",
                    f"the SMTP server could not take it: {type(error).__name__}",
                    retry_after=UNREACHABLE_WAIT,
                )
            try:
                await client.data(message.as_bytes())
            except aiosmtplib.SMTPResponseException as error:
                return _refused(error.code, error.message)
            except (aiosmtplib.SMTPException, OSError) as error:
                # The message was on its way when the session ended: it may have arrived.
                return Unknown(f"the SMTP session ended during DATA: {type(error).__name__}")
        finally:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()
        return Sent(outgoing.email.message_id)


def _refused(code: int, text: str) -> Refused:
    """The server answered: 4xx asks to be tried again later, 5xx refuses for good."""
    return Refused(str(code), text, retry_after=30.0 if 400 <= code < 500 else None)
