"""Senders, one per channel: a log file (the default), SMTP e-mail, an SMS gateway, and webhooks (signed
POSTs to the URLs administrators register, legalaid.webhooks).

Chinese SMS gateways send an approved template id with parameters, never free text; the HTTP sender
posts exactly that to the URL in the settings.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import logging
import os
import smtplib
import urllib.error
import urllib.request
from collections import defaultdict
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from legalaid.dates import now_utc
from legalaid.extensions import db
from legalaid.privacy import mask_text
from legalaid.reminders.models import OutboxMessage
from legalaid.webhooks.models import WebhookEndpoint

log = logging.getLogger(__name__)

_WEBHOOK_BOOKING = _l(
    "Booking %(booking_code)s at station no. %(station_id)s for %(starts_at)s: %(status)s (%(channel)s)."
)

# The texts of the messages, by template key: (subject, body). Babel translates them into the
# recipient's language; the SMS gateway gets only the key's template id and the parameters.
TEMPLATES: dict[str, tuple[object, object]] = {
    "booking_confirmed": (
        _l("Your consultation is booked"),
        _l("Booking %(code)s: %(when)s with lawyer %(lawyer)s at %(station)s."),
    ),
    "booking_moved": (
        _l("Your consultation has moved"),
        _l("Booking %(code)s now: %(when)s with lawyer %(lawyer)s at %(station)s."),
    ),
    "booking_cancelled": (
        _l("Your consultation is cancelled"),
        _l("Booking %(code)s for %(when)s at %(station)s is cancelled."),
    ),
    "shift_conflict": (
        _l("A duty lawyer needs replacing"),
        _l(
            "%(lawyer)s cannot take the duty at %(station)s on %(day)s (%(why)s). "
            "Choose a replacement in the month view: %(link)s"
        ),
    ),
    "booking_closed": (
        _l("The station is closed that day"),
        _l(
            "%(station)s is closed on %(day)s (%(reason)s). Your booking %(code)s for %(when)s is "
            "cancelled. Please book another day: %(link)s or come to the desk."
        ),
    ),
    "duty_cancelled": (
        _l("Your duty day is off"),
        _l(
            "%(station)s is closed on %(day)s (%(reason)s): your duty that day is off. "
            "%(count)s booked people are told."
        ),
    ),
    "booking_reminder": (
        _l("Reminder of your consultation"),
        _l("Reminder: %(when)s with lawyer %(lawyer)s at %(station)s, %(address)s. Booking %(code)s."),
    ),
    "lawyer_changed": (
        _l("Another lawyer will see you"),
        _l("Booking %(code)s on %(when)s: the duty lawyer is now %(lawyer)s. Your time stays the same."),
    ),
    "duty_week": (
        _l("Your duty shift in a week"),
        _l("Duty at %(station)s on %(day)s: %(count)s bookings so far."),
    ),
    "duty_soon": (
        _l("Your duty shift is coming up"),
        _l("Duty at %(station)s on %(day)s, in %(days)s days: %(count)s bookings so far."),
    ),
    "duty_eve": (
        _l("Your duty shift is next"),
        _l("Reminder: duty at %(station)s on %(day)s, %(count)s bookings so far."),
    ),
    "duty_morning": (
        _l("You are on duty today"),
        _l("Today you are on duty at %(station)s, %(address)s: %(count)s bookings."),
    ),
    "matter_due": (
        _l("A follow-up matter falls due"),
        _l("Follow-up matter no. %(matter)s (%(name)s) is due on %(due)s."),
    ),
    "matter_overdue": (
        _l("A follow-up matter is overdue"),
        _l("Follow-up matter no. %(matter)s (%(name)s) was due on %(due)s and is overdue."),
    ),
    "matter_overdue_led": (
        _l("A matter you lead is overdue"),
        _l(
            "Follow-up matter no. %(matter)s (%(name)s), which you lead and %(owner)s handles, was due "
            "on %(due)s and is overdue."
        ),
    ),
    "matter_assigned": (
        _l("A follow-up matter is now yours"),
        _l(
            "Follow-up matter no. %(matter)s (%(name)s) has been handed to you; it is due on %(due)s. "
            "The matter and its consultation record: %(link)s"
        ),
    ),
    "matter_leader": (
        _l("You lead a follow-up matter"),
        _l(
            "You now lead follow-up matter no. %(matter)s (%(name)s), handled by %(owner)s and due on "
            "%(due)s. You will hear if it becomes overdue: %(link)s"
        ),
    ),
    "contract_ending": (
        _l("A lawyer's contract is ending"),
        _l("The contract of lawyer %(lawyer)s (%(firm)s) ends on %(end)s."),
    ),
    "monthly_review": (
        _l("Monthly review"),
        _l(
            "Monthly review of %(station)s for %(month)s: %(consultations)s consultations, "
            "%(new_matters)s new follow-up matters, %(overdue)s overdue now. Outcomes: %(outcomes)s. "
            "The review page: %(link)s"
        ),
    ),
    "swap_asked": (
        _l("A colleague asks you to take a duty shift"),
        _l("%(from)s asks you to take the duty shift at %(station)s on %(day)s. Please answer: %(link)s"),
    ),
    "swap_offered": (
        _l("A colleague offers a duty shift"),
        _l(
            "%(from)s offers the duty shift at %(station)s on %(day)s to any colleague; the first to accept "
            "takes it. Please answer: %(link)s"
        ),
    ),
    "swap_accepted": (
        _l("A swap waits for your approval"),
        _l(
            "%(to)s has agreed to take the duty shift of %(from)s at %(station)s on %(day)s. "
            "Please approve or reject it: %(link)s"
        ),
    ),
    "swap_approved": (
        _l("The swap is approved"),
        _l("Swap approved: the duty shift at %(station)s on %(day)s passes from %(from)s to %(to)s."),
    ),
    "swap_rejected": (
        _l("Swap not approved"),
        _l("The swap of the duty shift at %(station)s on %(day)s was not approved: %(from)s stays on duty."),
    ),
    "swap_refused": (
        _l("Swap refused: the shift changed hands"),
        _l(
            "The swap of the duty shift at %(station)s on %(day)s cannot go ahead: the shift has been given "
            "to %(lawyer)s in the meantime."
        ),
    ),
    "swap_declined": (
        _l("Your colleague declined the swap"),
        _l(
            "%(to)s cannot take your duty shift at %(station)s on %(day)s: you stay on duty. "
            "You may ask another colleague."
        ),
    ),
    "swap_withdrawn": (
        _l("A swap request was withdrawn"),
        _l("%(from)s has withdrawn the swap: the duty shift at %(station)s on %(day)s stays with them."),
    ),
    "consultation_done": (
        _l("Thank you for your visit"),
        _l(
            "Thank you for seeing lawyer %(lawyer)s at %(station)s on %(day)s. How satisfied are you? "
            "Rate the consultation within %(days)s days: %(link)s"
        ),
    ),
    "rating_poor": (
        _l("A poor rating waits for a reply"),
        _l(
            "A veteran rated the consultation with lawyer %(lawyer)s at %(station)s on %(day)s as poor. "
            "Please look into it and record the reply: %(link)s"
        ),
    ),
    "test": (_l("Test message"), _l("Test message from %(station)s.")),
    # Webhooks (legalaid.webhooks): the outbox page's words for a delivery; the receiver gets JSON.
    "booking.made": (_l("Webhook: booking made"), _WEBHOOK_BOOKING),
    "booking.moved": (_l("Webhook: booking moved"), _WEBHOOK_BOOKING),
    "booking.cancelled": (_l("Webhook: booking cancelled"), _WEBHOOK_BOOKING),
    "booking.completed": (_l("Webhook: booking completed"), _WEBHOOK_BOOKING),
    "matter.closed": (
        _l("Webhook: follow-up matter closed"),
        _l("Follow-up matter no. %(matter_id)s at station no. %(station_id)s is closed: %(result)s."),
    ),
}


class SendError(Exception):
    """The channel refused or failed before it took the message: the sweeper retries later."""


class OutcomeUnknown(Exception):
    """The message was handed over but no answer came: it may have arrived, so it is never sent again
    by itself; a person checks."""


class Sender(Protocol):
    """Something that delivers one message, or raises SendError (not taken) or OutcomeUnknown."""

    def send(self, message: OutboxMessage) -> None:
        """Deliver the message."""


def render(message: OutboxMessage) -> tuple[str, str]:
    """The subject and body of a message in its recipient's language."""
    subject, body = TEMPLATES[message.template]
    with force_locale(message.locale):
        # A message queued before a template gained a parameter still renders (the part left empty).
        params = defaultdict(str, {k: str(v) for k, v in message.params.items()})
        return str(subject), str(body) % params


class LogSender:
    """Writes each message as one line (numbers masked) to the process's log and, where OUTBOX_LOG_FILE
    names one (development: instance/outbox.log), to that file: the default, for trying out."""

    def send(self, message: OutboxMessage) -> None:
        """Write the message as one line."""
        subject, body = render(message)
        line = mask_text(
            f"#{message.id} {message.kind} to {message.recipient_type}:{message.address} {subject}: {body}"
        )
        name = current_app.config.get("OUTBOX_LOG_FILE", "")
        if name:
            path = Path(current_app.instance_path) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            # Readable by its owner only: the lines carry names and (masked) numbers.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        log.info("outbox %s", line)


class SmtpSender:
    """Sends e-mail through the SMTP server in the settings."""

    def send(self, message: OutboxMessage) -> None:
        """Send one e-mail: a refusal or a failure before the message is handed over is a SendError; a
        connection lost while handing it over leaves the outcome unknown."""
        config = current_app.config
        subject, body = render(message)
        mail = EmailMessage()
        mail["From"] = config["MAIL_FROM"]
        mail["To"] = message.address
        mail["Subject"] = subject
        mail.set_content(body)
        try:
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20)
        except (OSError, smtplib.SMTPException) as error:
            raise SendError(f"smtp: {type(error).__name__}") from error
        try:
            try:
                if config["MAIL_USE_TLS"]:
                    smtp.starttls()
                if config["MAIL_USERNAME"]:
                    smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            except (OSError, smtplib.SMTPException) as error:
                raise SendError(f"smtp: {type(error).__name__}") from error
            try:
                smtp.send_message(mail)
            except (
                smtplib.SMTPResponseException,
                smtplib.SMTPRecipientsRefused,
                smtplib.SMTPNotSupportedError,
            ) as error:
                raise SendError(f"smtp: {type(error).__name__}") from error  # the server said no
            except (OSError, smtplib.SMTPException) as error:
                lost = f"smtp: connection lost while sending ({type(error).__name__})"
                raise OutcomeUnknown(lost) from error
        finally:
            # Once the message is handed over, a failing goodbye must not make it look unsent.
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
            smtp.close()


class HttpSmsSender:
    """Posts {sign, template id, phone, params, reference, out_id} as JSON to the SMS gateway in the
    settings.

    `out_id` is the outbox message's id, the same on every attempt and on a resend by hand: a gateway
    that de-duplicates on it delivers a message once however often it is posted. `reference` is the
    message's dedupe key, for tracing.
    """

    def send(self, message: OutboxMessage) -> None:
        """Send one SMS: no answer after the request went out leaves the outcome unknown (never
        retried blindly); a failure to connect or an error answer is a SendError (retried)."""
        config = current_app.config
        template_id = config.get("SMS_TEMPLATES", {}).get(message.template)
        if not template_id:
            raise SendError(f"sms: no approved template for {message.template}")
        payload = {
            "sign": config["SMS_SIGN_NAME"],
            "template_id": template_id,
            "phone": message.address,
            "params": {k: str(v) for k, v in message.params.items()},
            "reference": message.dedupe_key,
            "out_id": str(message.id),
        }
        timeout = float(config.get("SMS_GATEWAY_TIMEOUT") or 20)
        try:
            request = urllib.request.Request(  # noqa: S310  (the gateway URL comes from the settings)
                config["SMS_GATEWAY_URL"],
                data=json.dumps(payload, ensure_ascii=False).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {config['SMS_GATEWAY_KEY']}",
                },
                method="POST",
            )
        except ValueError as error:
            raise SendError("sms: the gateway URL is not valid") from error
        try:
            response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310
        except urllib.error.HTTPError as error:
            error.close()
            raise SendError(f"sms: HTTP {error.code}") from error  # the gateway answered: not taken
        except urllib.error.URLError as error:
            # urllib wraps only what fails while connecting and writing the request (refused, DNS,
            # connect timeout): the gateway never had the whole request.
            reason = error.reason
            said = type(reason).__name__ if isinstance(reason, Exception) else str(reason)
            raise SendError(f"sms: {said}") from error
        except (OSError, http.client.HTTPException) as error:
            # Raised while waiting for the answer (timeout, connection dropped): the gateway has the
            # request and may have sent the message.
            raise OutcomeUnknown(
                f"sms: no answer after the request was sent ({type(error).__name__}, {timeout:g} s)"
            ) from error
        with response:
            if response.status >= 300:
                raise SendError(f"sms: HTTP {response.status}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the error it is here: a delivery is never posted on to another address."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        """Follow nothing."""
        return None


def webhook_signature(secret: str, message_id: str, timestamp: str, body: str) -> str:
    """The Webhook-Signature header: `v1=` and the hex HMAC-SHA256, keyed with the endpoint's secret
    (its UTF-8 bytes), of `<id>.<timestamp>.<body>`."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


class WebhookSender:
    """Posts a delivery as JSON to the endpoint's URL, signed with its secret (Webhook-Id,
    Webhook-Timestamp, Webhook-Signature); a short timeout, no redirects followed.

    At least once: anything short of a 2xx answer is a SendError, retried with the outbox's back-off,
    even a timeout after the request went out; receivers drop a Webhook-Id they have already had.
    """

    def send(self, message: OutboxMessage) -> None:
        """Post one delivery; raise SendError unless the receiver answers 2xx."""
        config = current_app.config
        endpoint = db.session.get(WebhookEndpoint, message.recipient_id) if message.recipient_id else None
        if endpoint is None or not endpoint.active:
            raise SendError("webhook: the endpoint is deactivated")
        url = message.address
        if config.get("ENV_NAME") == "production" and urlsplit(url).scheme != "https":
            raise SendError("webhook: only https addresses are used in production")
        message_id = str(message.id)
        timestamp = str(int(now_utc().timestamp()))
        body = json.dumps({"id": message.id, **message.params}, ensure_ascii=False, separators=(",", ":"))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "legalaid-webhooks/1",
            "Webhook-Id": message_id,
            "Webhook-Timestamp": timestamp,
            "Webhook-Signature": webhook_signature(endpoint.secret, message_id, timestamp, body),
        }
        timeout = float(config.get("WEBHOOK_TIMEOUT") or 10)
        try:
            request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")  # noqa: S310
        except ValueError as error:
            raise SendError("webhook: the address is not valid") from error
        try:
            response = urllib.request.build_opener(_NoRedirects).open(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            error.close()
            raise SendError(f"webhook: HTTP {error.code}") from error
        except urllib.error.URLError as error:
            reason = error.reason
            said = type(reason).__name__ if isinstance(reason, Exception) else str(reason)
            raise SendError(f"webhook: {said}") from error
        except (OSError, http.client.HTTPException) as error:
            # The receiver may have it: sent again all the same (it dedupes on Webhook-Id).
            raise SendError(f"webhook: no answer ({type(error).__name__}, {timeout:g} s)") from error
        with response:
            if not 200 <= response.status < 300:
                raise SendError(f"webhook: HTTP {response.status}")


# A channel's sender when the settings name none: webhooks go to their URLs, everything else to the log.
DEFAULT_SENDERS = {"webhook": "webhook"}


def sender_for(channel: str) -> Sender:
    """The sender the settings choose for a channel (anything unset goes to the log, webhooks to their
    URLs)."""
    choice = current_app.config.get("SENDERS", {}).get(channel, DEFAULT_SENDERS.get(channel, "log"))
    senders: dict[str, type[Sender]] = {
        "log": LogSender,
        "smtp": SmtpSender,
        "sms": HttpSmsSender,
        "webhook": WebhookSender,
    }
    return senders[choice]()
