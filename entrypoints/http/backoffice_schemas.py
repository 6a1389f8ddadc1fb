"""Bodies, answers and query strings of the back office's admin routes."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from domain.orders import OrderStatus
from domain.payments import PaymentStatus, RefundStatus
from domain.webhooks import WebhookStatus
from entrypoints.http.params import BLANK_IS_NONE, ISO_TEXT, Flag, Page, Query, Refusal, Text, at_most
from entrypoints.http.schemas import Amount, OrderOut, Out, PaymentOut, RefundOut, Strict

Note = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


# -- bodies -------------------------------------------------------------------------------------
class FulfilIn(Strict):
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    tracking_number: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    note: Note | None = None


class CompleteIn(Strict):
    note: Note | None = None


class OrderStatusIn(Strict):
    """A move a person may make: processing (fulfil), completed, cancelled (refunded and restocked)."""

    status: OrderStatus
    note: Note | None = None
    carrier: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    tracking_number: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class CancelIn(Strict):
    reason: Note | None = None


class AdminRefundIn(Strict):
    amount: Amount | None = None
    reason: Literal["requested_by_customer", "duplicate", "fraudulent", "order_cancelled", "other"]
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class RefundAccountIn(Strict):
    """The customer's bank account, for a refund its gateway cannot pay back to the card (Paystack
    ``needs-attention``): sent to the gateway with the refund's currency, never stored."""

    account_number: Annotated[str, StringConstraints(pattern=r"^[0-9]{6,20}$")] = Field(
        description="the customer's account number (digits)")
    bank_id: Annotated[str, StringConstraints(pattern=r"^[0-9]{1,10}$")] = Field(
        description="the gateway's id for the customer's bank (Paystack: GET /bank)")


class RejectIn(Strict):
    reason: Note


GatewayName = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class RoutesIn(Strict):
    """The whole routing table: ``CUR`` or ``CUR:CC`` (a country's own route) -> gateways in order;
    null puts the built-in table back. ``version``: the one you read (409 if it moved since)."""

    routes: dict[Annotated[str, StringConstraints(min_length=3, max_length=6, pattern=r"^[A-Za-z]{3}(:[A-Za-z]{2})?$")],
                 Annotated[list[GatewayName], Field(min_length=1, max_length=10)]] | None
    version: Annotated[int, Field(ge=0)] | None = None


class LimitIn(Strict):
    min: Annotated[int, Field(ge=0, le=10**12)] | None = None
    max: Annotated[int, Field(ge=0, le=10**12)] | None = None


class GatewayConfigIn(Strict):
    """``enabled``: whether it takes new payments (its payments are still settled and refunded);
    ``limits``: per currency, the smallest and largest amount in minor units (replaces them all)."""

    enabled: bool | None = None
    limits: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$")], LimitIn] | None = None
    version: Annotated[int, Field(ge=0)] | None = None


# -- answers ------------------------------------------------------------------------------------
class AdminOrderOut(OrderOut):
    owner_id: str
    customer_email: str | None
    customer_name: str | None
    payment_id: str | None


class AdminOrderDetailOut(AdminOrderOut):
    payments: list[PaymentOut]


class LedgerRowOut(Out):
    id: str
    type: Literal["payment", "refund"]
    amount: int
    currency: str
    status: str
    gateway: str
    gateway_reference: str | None
    refund_id: str | None
    processed_at: str
    reconciled: bool


class WebhookSummaryOut(Out):
    id: str
    gateway: str
    event_id: str
    type: str
    status: WebhookStatus
    reported_status: str | None
    attempts: int
    last_error: str | None
    received_at: str
    processed_at: str | None
    next_attempt_at: str | None


class VerificationOut(Out):
    """What the payment's gateway said when asked (a status query, or its page closed)."""

    operation: Literal["verify", "expire"]
    at: str
    found: bool
    status: PaymentStatus
    raw_status: str | None
    amount: int | None
    currency: str | None
    gateway_reference: str | None
    payment_method: str | None
    error: str | None


class PaymentDetailOut(PaymentOut):
    order_number: str | None
    order_status: OrderStatus | None
    customer_email: str | None
    #: what its gateway said the last time it was asked (null: never asked)
    verified: VerificationOut | None
    verifications: list[VerificationOut]
    webhooks: list[WebhookSummaryOut]
    ledger: list[LedgerRowOut]
    refunds: list[RefundOut]


class WebhookDetailOut(WebhookSummaryOut):
    reference: str | None
    signature_ok: bool
    #: the body as received, with personal data and secrets redacted
    payload: dict | list | str | None


class FailedWebhookPageOut(Out):
    results: list[WebhookSummaryOut]
    next_cursor: str | None


class MoneyOut(Out):
    captured: int
    refunded: int
    net: int


class DayOut(MoneyOut):
    date: str


class CurrencyRevenueOut(MoneyOut):
    currency: str
    #: the same figures in the reporting currency
    converted: MoneyOut


class GatewayRevenueOut(MoneyOut):
    gateway: str


class RatesOut(Out):
    date: str
    base: str
    source: str
    rounding: str
    rates: dict[str, str]


class PaymentStatsOut(Out):
    by_status: dict[str, int]
    ended: int
    succeeded: int
    #: succeeded among the intents that ended (null: none ended)
    success_rate: float | None


class RefundStatsOut(Out):
    count: int
    amount: int
    #: refunded amount over captured amount
    rate: float | None
    #: refunds over succeeded payments
    count_rate: float | None


class OrderStatsOut(Out):
    by_status: dict[str, int]
    paid: int
    average_order_value: int | None


class ProductStatsOut(Out):
    sku: str
    name: str
    quantity: int
    revenue: int


class AnalyticsOut(Out):
    """Amounts in the minor units of ``currency`` (the reporting currency) unless said otherwise."""

    from_: str = Field(alias="from")
    to: str
    currency: str
    rates: RatesOut
    generated_at: str
    revenue: MoneyOut
    revenue_by_day: list[DayOut]
    revenue_by_currency: list[CurrencyRevenueOut]
    revenue_by_gateway: list[GatewayRevenueOut]
    payments: PaymentStatsOut
    refunds: RefundStatsOut
    orders: OrderStatsOut
    top_products: list[ProductStatsOut]
    #: currencies the rate table has no rate for: left out of the converted figures
    unconverted: list[str]


class GatewayConfigGatewayOut(Out):
    name: str
    #: its credentials are in this deployment's environment
    available: bool
    #: it takes new payments
    enabled: bool
    reason: str | None
    credentials: Literal["configured", "missing"]
    currencies: list[str]
    limits: dict[str, dict[str, int]]
    version: int
    updated_at: str | None
    updated_by: str | None


class GatewayConfigOut(Out):
    routes: dict[str, list[str]]
    routes_source: Literal["configured", "built-in"]
    routes_version: int
    routes_updated_at: str | None
    routes_updated_by: str | None
    gateways: list[GatewayConfigGatewayOut]
    #: when this process last applied the stored configuration
    applied_at: str | None
    refresh_seconds: float


class FraudRulesOut(Out):
    amounts: dict[str, dict[str, int]]
    velocity: dict[str, dict]
    declines: dict | None
    blocklist: dict[str, list[str]]
    country_currency: dict


# -- query strings ------------------------------------------------------------------------------
class _AdminList(Page):
    gateway: Text = Field(None, description="the payment's gateway")
    currency: Annotated[Annotated[str, StringConstraints(max_length=3, pattern=r"^[A-Z]{3}$")] | None, BLANK_IS_NONE,
                        Refusal("currency is a three-letter ISO code", lengths=False)] = None
    from_: Annotated[datetime | None, ISO_TEXT, BLANK_IS_NONE] = Field(
        None, alias="from", description="created at or after (ISO date or date-time; UTC unless it says)")
    to: Annotated[datetime | None, ISO_TEXT, BLANK_IS_NONE] = Field(None, description="created before (ISO date or date-time)")
    email: Annotated[Annotated[str, StringConstraints(max_length=254)] | None, BLANK_IS_NONE] = Field(
        None, description="the customer's e-mail, any case")
    order_number: Text = Field(None, description="an order number, exactly")


class AdminOrdersQuery(_AdminList):
    status: Annotated[OrderStatus | None, BLANK_IS_NONE, at_most(100),
                      Refusal("unknown order status {input!r}", lengths=False)] = None


class AdminPaymentsQuery(_AdminList):
    status: Annotated[PaymentStatus | None, BLANK_IS_NONE, at_most(100),
                      Refusal("unknown payment status {input!r}", lengths=False)] = None


class AdminRefundsQuery(_AdminList):
    status: Annotated[RefundStatus | None, BLANK_IS_NONE, at_most(100),
                      Refusal("unknown refund status {input!r}", lengths=False)] = None
    needs_attention: Annotated[Flag | None, BLANK_IS_NONE] = Field(None, description="true: flagged for a person")


class AnalyticsQuery(Query):
    from_: Annotated[date | None, ISO_TEXT, BLANK_IS_NONE] = Field(
        None, alias="from", description="first day (UTC, YYYY-MM-DD); default 29 days before to")
    to: Annotated[date | None, ISO_TEXT, BLANK_IS_NONE] = Field(None, description="last day, included (default today)")
    currency: Annotated[Annotated[str, StringConstraints(max_length=3, pattern=r"^[A-Za-z]{3}$")] | None,
                        BLANK_IS_NONE, Refusal("currency is a three-letter ISO code", lengths=False)] = Field(
        None, description="the reporting currency (default: the rate table's base)")
