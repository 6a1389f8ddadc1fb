"""Request and response bodies of the cart, catalog administration and delivery routes (same rules
as ``schemas``: requests are strict, unknown fields are refused)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from adapters.gateways.sandbox_script import MAX_REASON, MAX_SECONDS, MAX_SLOW
from entrypoints.http.schemas import AddressIn, Out, Quantity, Sku, Strict

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Minor = Annotated[int, Field(ge=0, le=10**12)]
Stock = Annotated[int, Field(ge=0, le=10**9)]


class CartQuantityIn(Strict):
    quantity: Quantity


class CartLineOut(Out):
    sku: str
    product_id: str | None
    name: str | None
    quantity: int
    unit_price: int
    total: int
    available: bool
    issue: str | None


class CartOut(Out):
    items: list[CartLineOut]
    subtotal: int
    currency: str | None
    item_count: int
    updated_at: str


class ProductCreateIn(Strict):
    sku: Sku
    name: Name
    price: Minor
    currency: Currency
    stock: Stock
    category: Slug
    active: bool = True
    tags: Annotated[list[Slug], Field(max_length=20)] = []
    #: false for what needs no delivery (a download, a service): its checkout needs no shipping
    shippable: bool = True


class ProductUpdateIn(Strict):
    version: Annotated[int, Field(ge=0)] | None = None
    name: Name | None = None
    price: Minor | None = None
    currency: Currency | None = None
    stock: Stock | None = None
    category: Slug | None = None
    active: bool | None = None
    #: replaces the product's tags (each one a tag that exists)
    tags: Annotated[list[Slug], Field(max_length=20)] | None = None
    shippable: bool | None = None


class CategoryIn(Strict):
    slug: Slug
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class CouponCreateIn(Strict):
    code: Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
    kind: Literal["percent", "fixed"]
    value: Minor
    currency: Currency | None = None
    min_subtotal: Minor = 0
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    max_uses: Annotated[int, Field(ge=0)] | None = None
    max_uses_per_user: Annotated[int, Field(ge=0)] | None = None
    active: bool = True


class CouponOut(Out):
    code: str
    kind: Literal["percent", "fixed"]
    value: int
    currency: str | None
    min_subtotal: int
    valid_from: str | None
    valid_until: str | None
    max_uses: int | None
    max_uses_per_user: int | None
    uses: int
    active: bool


class SavedAddressIn(AddressIn):
    label: Annotated[str, StringConstraints(min_length=1, max_length=60)] | None = None


class SavedAddressOut(Out):
    id: str
    label: str | None
    country: str
    city: str
    line1: str
    postal_code: str | None
    created_at: str


class StationOut(Out):
    id: str
    name: str
    city: str
    country: str
    line1: str


class ShippingMethodOut(Out):
    method: Literal["standard", "express", "pickup"]
    #: minor units by currency
    prices: dict[str, int]
    #: a subtotal from which this method is free, by currency (standard shipping only)
    free_over: dict[str, int]


class ShippingOptionsOut(Out):
    country: str
    methods: list[ShippingMethodOut]
    stations: list[StationOut]


class DeletedOut(Out):
    deleted: Literal[True]


class SandboxOutcomeIn(Strict):
    """The sandbox page's form."""

    outcome: Literal["approve", "decline"]
    csrf: Annotated[str, StringConstraints(max_length=128)] | None = Field(
        None, description="the page's token (required of a browser, with the page's cookie)")
    behaviour: Literal["none", "slow", "timeout", "delayed"] | None = Field(
        None, description="the scripted answer: none (at once), slow (the answer takes `seconds`), timeout (no "
                          "webhook; status checks time out for `seconds`), delayed (processing for `seconds`, then "
                          "the outcome and its webhook)")
    seconds: Annotated[int, Field(ge=0, le=MAX_SECONDS)] | None = Field(
        None, description=f"how long (slow: at most {MAX_SLOW})")
    reason: Annotated[str, StringConstraints(max_length=MAX_REASON, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = Field(
        None, description="a decline's reason: the payment's failure reason (last_error)")
