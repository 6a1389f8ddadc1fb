"""E-mail: the plain-text notice a customer is sent beside an in-app notification, one template per
notification kind (``$name``, ``$body``)."""
from __future__ import annotations

import string

_SIGNATURE = "\n\n-- \npayport\nYou get this e-mail because of activity on your account."
TEMPLATES: dict[str, string.Template] = {
    "order_created": string.Template(
        "Hello $name,\n\n$body\n\nWe will write again once the payment has gone through." + _SIGNATURE),
    "payment_initiated": string.Template(
        "Hello $name,\n\n$body\n\nIf you did not start this payment, reply to this e-mail at once." + _SIGNATURE),
    "payment_completed": string.Template(
        "Hello $name,\n\n$body\n\nThank you for your order. We will let you know when it ships." + _SIGNATURE),
    "payment_failed": string.Template(
        "Hello $name,\n\n$body\n\nNo money was taken. You can pay again from your order page." + _SIGNATURE),
    "refund_requested": string.Template(
        "Hello $name,\n\n$body\n\nRefunds usually reach your account within 5 to 10 working days." + _SIGNATURE),
    "refund_completed": string.Template(
        "Hello $name,\n\n$body\n\nDepending on your bank it may take a few days to show." + _SIGNATURE),
    "webhook_endpoint_disabled": string.Template(
        "Hello $name,\n\n$body\n\nFix the receiver, then turn the endpoint back on in the admin console "
        "(or PATCH it with {\"enabled\": true}) and redeliver what it missed." + _SIGNATURE),
    "support_reply": string.Template(
        "Hello $name,\n\n$body\n\nOpen the ticket in your account to read the whole reply and answer it." + _SIGNATURE),
}
#: Any other kind.
DEFAULT = string.Template("Hello $name,\n\n$body" + _SIGNATURE)


def render(kind: str, *, name: str | None, body: str) -> str:
    """The text of the e-mail for a notification of ``kind``."""
    return TEMPLATES.get(kind, DEFAULT).substitute(name=(name or "").strip() or "there", body=body)
