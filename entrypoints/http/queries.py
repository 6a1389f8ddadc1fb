"""The query strings of the routes that read one (``query=``), by context. Handlers read them as
``ctx.query``; the OpenAPI document describes each parameter from the same model.

A parameter checked by the use case as well (an order's status) comes last, so that when two are
wrong the answer names the one it always named."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from adapters.gateways.sandbox_script import MAX_REASON, MAX_SECONDS, MAX_SLOW
from domain.orders import OrderStatus
from domain.payments import PaymentStatus
from entrypoints.http.params import BLANK_IS_NONE, WHOLE_NUMBER, Flag, Page, Query, Refusal, Text, at_most


# -- catalog ------------------------------------------------------------------------------------
class ProductsQuery(Page):
    category: Text = Field(None, description="a category's slug")
    search: Text = Field(None, description="part of a name or SKU")
    tag: Text = Field(None, description="a tag's slug: only the products carrying it")


# -- delivery -----------------------------------------------------------------------------------
class ShippingOptionsQuery(Query):
    lengths_first = True
    country: Annotated[str, StringConstraints(max_length=2, pattern=r"^[A-Za-z]{2}$"),
                       Refusal("country is a two-letter ISO code", lengths=False)] = Field(
        description="ISO 3166 code, any case")
    currency: Annotated[Annotated[str, StringConstraints(max_length=3, pattern=r"^[A-Z]{3}$")] | None, BLANK_IS_NONE,
                        Refusal("currency is a three-letter ISO code", lengths=False)] = Field(
        None, description="only the prices in this currency")


# -- orders, payments, refunds ------------------------------------------------------------------
class OrdersQuery(Page):
    workspace: Text = Field(None, description="a workspace's id")
    search: Text = Field(None, description="an order number")
    status: Annotated[OrderStatus | None, BLANK_IS_NONE, at_most(100),
                      Refusal("unknown order status {input!r}", lengths=False)] = None


class PaymentsQuery(Page):
    order_id: Text = None
    status: Annotated[PaymentStatus | None, BLANK_IS_NONE, at_most(100),
                      Refusal("unknown payment status {input!r}", lengths=False)] = None


class RefundsQuery(Page):
    payment_id: Text = None


class CallbackQuery(Query):
    """What a gateway's redirect carries; the handler also reads these from a POSTed form."""

    reference: str | None = Field(None, description="our payment reference")
    tx_ref: str | None = Field(None, description="the reference, as Flutterwave names it")
    trxref: str | None = Field(None, description="the reference, as Paystack names it")
    session_id: str | None = Field(None, max_length=255, description="Stripe's Checkout Session id (asked with, never "
                                                                     "believed alone)")
    transaction_id: str | None = Field(None, max_length=64, description="Flutterwave's transaction id (asked with)")


# -- notifications ------------------------------------------------------------------------------
class NotificationsQuery(Page):
    unread: Flag = Field(False, description="true for unread notifications only")


# -- admin --------------------------------------------------------------------------------------
class FailedWebhooksQuery(Page):
    """A page of the failed webhooks, newest first (``GET /admin/webhooks/{id}`` shows one)."""


# -- the sandbox's payment page -----------------------------------------------------------------
class SandboxScriptQuery(Query):
    """The scripted behaviour of the sandbox's payment page (sandbox only): preselected on the
    page by its query string; the page's form sends the same fields."""

    behaviour: Annotated[Literal["none", "slow", "timeout", "delayed"] | None, BLANK_IS_NONE] = Field(
        None, description="none (answer at once), slow (the answer takes `seconds`), timeout (no webhook; status "
                          "checks time out for `seconds`), delayed (processing for `seconds`, then the outcome and "
                          "its webhook)")
    seconds: Annotated[int | None, Field(ge=0, le=MAX_SECONDS), WHOLE_NUMBER, BLANK_IS_NONE,
                       Refusal(f"seconds must be a whole number from 0 to {MAX_SECONDS}")] = Field(
        None, description=f"how long the behaviour lasts (slow: at most {MAX_SLOW})")
    reason: Annotated[Annotated[str, StringConstraints(max_length=MAX_REASON, pattern=r"^[^\x00-\x1f\x7f]*$")] | None,
                      BLANK_IS_NONE] = Field(None, description="a decline's reason: the payment's failure reason")
