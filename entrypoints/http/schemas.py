"""Request and response bodies. Requests are strict: unknown fields, wrong types, floats for
integers and out-of-range values are refused (422) before any use case runs. Responses declare
every field the server always sends (a nullable one as ``X | None``), which the e2e helper checks
on every 2xx answer."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints

from domain.orders import OrderStatus
from domain.payments import PaymentStatus, RefundStatus
from domain.users import Role
from entrypoints.http.text import refuse_nul

Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Quantity = Annotated[int, Field(ge=1, le=1000)]
Amount = Annotated[int, Field(ge=1, le=10**12)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    _no_nul = refuse_nul


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# -- auth ---------------------------------------------------------------------------------------
#: what sign-up takes for an email (``application.auth.EMAIL``, stated in the document)
EMAIL_PATTERN = r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,255}\.[^@\s\x00]{2,}$"


class RegisterIn(Strict):
    email: Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]
    #: not only spaces
    name: Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=r"^[^\x00]*\S[^\x00]*$")]


class LoginIn(Strict):
    email: Annotated[str, StringConstraints(min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    #: A guest's access token: that guest's cart is merged into the user's cart.
    guest_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)] | None = None


class RefreshIn(Strict):
    refresh: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class UserOut(Out):
    id: str
    #: None for a guest
    email: str | None
    name: str | None
    role: Role


class CartMergeOut(Out):
    #: the SKUs of the guest's cart left out of yours (no longer sold, another currency...)
    skipped: list[str]


class TokensOut(Out):
    access: str
    refresh: str
    token_type: Literal["Bearer"]
    expires_in: int
    #: only when logging in with a guest_token
    cart_merge: CartMergeOut | None = None
    #: only when logging in with a guest_token: the SKUs of the guest's wishlist that did not fit
    wishlist_merge: CartMergeOut | None = None


class GuestOut(Out):
    access: str
    guest_id: str


# -- catalog ------------------------------------------------------------------------------------
class RatingOut(Out):
    #: of the visible reviews, two decimals; None without any
    average: float | None
    count: int


class ProductOut(Out):
    id: str
    sku: str
    name: str
    price: int
    currency: str
    stock: int
    category: str
    active: bool
    tags: list[str]
    shippable: bool
    rating: RatingOut


class ProductAdminOut(ProductOut):
    version: int


class CategoryOut(Out):
    slug: str
    name: str


class CategoriesOut(RootModel[list[CategoryOut]]):
    """Every category, as a bare array."""


# -- checkout -----------------------------------------------------------------------------------
class ItemIn(Strict):
    sku: Sku
    quantity: Quantity


class CheckoutInitiateIn(Strict):
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=50)] | None = None
    from_cart: bool | None = None


class AddressIn(Strict):
    country: Annotated[str, StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Za-z]{2}$")]
    city: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    line1: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    postal_code: Annotated[str, StringConstraints(max_length=20)] | None = None


class ShippingIn(Strict):
    checkout_id: Id
    address: AddressIn | None = None
    address_id: Id | None = None
    station_id: Id | None = None
    method: Literal["standard", "express", "pickup"] = "standard"


class CheckoutIdIn(Strict):
    checkout_id: Id


class CouponIn(Strict):
    checkout_id: Id
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]


class LineOut(Out):
    sku: str
    name: str
    quantity: int
    unit_price: int
    total: int


class SummaryOut(Out):
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int
    currency: str
    tax_inclusive: bool


class CheckoutAddressOut(Out):
    country: str
    city: str
    line1: str
    postal_code: str | None


class CheckoutOut(Out):
    checkout_id: str
    items: list[LineOut]
    summary: SummaryOut
    coupon: str | None
    shipping_method: Literal["standard", "express", "pickup"] | None
    address: CheckoutAddressOut | None
    expires_at: str
    updated_at: str


# -- orders -------------------------------------------------------------------------------------
class OrderCreateIn(Strict):
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=50)]
    workspace_id: Id | None = None


class StatusChangeOut(Out):
    """One move of the order: ``from`` null when it was placed; ``by`` a user's id, or ``system``."""

    from_: OrderStatus | None = Field(alias="from")
    to: OrderStatus
    at: str
    by: str
    note: str | None


class FulfilmentOut(Out):
    carrier: str | None
    tracking_number: str | None


class CancellationOut(Out):
    at: str
    by: str
    reason: str | None
    #: the refund of what was captured (null: none was needed, or not requested yet)
    refund_id: str | None
    #: true until the refund has been requested (the worker finishes it after a crash)
    refund_pending: bool


class OrderOut(Out):
    id: str
    order_number: str
    status: OrderStatus
    items: list[LineOut]
    subtotal: int
    discount: int
    shipping: int
    tax: int
    total: int
    currency: str
    coupon: str | None
    workspace_id: str | None
    created_at: str
    updated_at: str
    version: int
    paid_at: str | None
    completed_at: str | None
    fulfilment: FulfilmentOut | None
    cancellation: CancellationOut | None
    status_history: list[StatusChangeOut]


# -- payments and refunds -----------------------------------------------------------------------
class PaymentInitiateIn(Strict):
    order_id: Id
    gateway: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = None
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(min_length=5, max_length=20, pattern=r"^\+?[0-9]+$")] | None = None
    return_url: Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://")] | None = None
    country: Annotated[str, StringConstraints(min_length=2, max_length=2)] | None = None


class PaymentOutcome(Out):
    """What anyone holding a payment's reference learns: its outcome."""

    id: str
    order_id: str
    reference: str
    status: PaymentStatus
    amount: int
    currency: str
    gateway: str
    captured_amount: int


class PaymentOut(PaymentOutcome):
    authorization_url: str | None
    last_error: str | None
    expires_at: str
    created_at: str
    updated_at: str
    #: the gateway's own id for it
    gateway_reference: str | None
    #: initialization calls made
    attempts: int
    #: how the customer paid, as the gateway reports it (card, bank_transfer, mobile_money, ...)
    payment_method: str | None
    paid_at: str | None
    #: captured after our window or after we had ended it (applied to the order, or refunded)
    late_capture: bool
    #: why it is held for a person (requires_review)
    review_reason: str | None


class PaymentOutcomeOut(PaymentOutcome):
    """A gateway redirect's answer: to anyone holding the reference the outcome only; to the
    payment's owner (a bearer token) the whole payment."""

    authorization_url: str | None = None
    last_error: str | None = None
    expires_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    gateway_reference: str | None = None
    attempts: int | None = None
    payment_method: str | None = None
    paid_at: str | None = None
    late_capture: bool | None = None
    review_reason: str | None = None


class RefundIn(Strict):
    payment_id: Id
    amount: Amount | None = None
    reason: Literal["requested_by_customer", "duplicate", "fraudulent", "order_cancelled", "other"]
    description: Annotated[str, StringConstraints(max_length=500)] | None = None


class RefundOut(Out):
    id: str
    payment_id: str
    order_id: str
    amount: int
    currency: str
    reason: str
    description: str | None
    status: RefundStatus
    created_at: str
    updated_at: str
    gateway_refund_id: str | None
    #: create calls sent to the gateway
    attempts: int
    #: a person must look at it (``attention`` says why)
    needs_attention: bool
    attention: str | None


class NotificationOut(Out):
    id: str
    kind: str
    title: str
    body: str
    read: bool
    created_at: str


#: text that may echo what the client sent (a field's name), NUL included: no NUL-free pattern in the document
AnyText = Annotated[str, Field(json_schema_extra={"x-any-text": True})]


class FieldProblemOut(Out):
    #: where in the request (``items.0.quantity``; ``body`` for the whole body), as the client named it
    field: AnyText
    message: AnyText


class Problem(Out):
    """Every error answer (RFC 9457, ``application/problem+json``). ``code`` is stable, for programs;
    some problems carry more (``reasons``, ``dependency``, ``allowed_transitions``...)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    #: a validation failure's fields, one entry each
    errors: list[FieldProblemOut] | None = None


def page_of(model: type[BaseModel]) -> type[BaseModel]:
    return type(f"{model.__name__}Page", (Out,), {
        "__annotations__": {"results": list[model], "next_cursor": str | None},
    })
