"""Catalog: products, categories, coupons."""
from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from datetime import datetime

import attrs

from domain.errors import CouponInvalid, CurrencyMismatch, InsufficientStock, InvalidValue, ProductUnavailable
from domain.money import Money, exponent

MAX_QUANTITY = 1000
MAX_TAGS_PER_PRODUCT = 20
TAG_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


@attrs.frozen
class Tag:
    """A label products carry (``summer``, ``gift-ideas``): a slug and a display name."""

    slug: str
    name: str

    @classmethod
    def create(cls, slug: str, name: str) -> Tag:
        slug = check_tag_slug(slug)
        if not name.strip() or len(name.strip()) > 80:
            raise InvalidValue("a tag needs a name of 1 to 80 characters", field="name")
        return cls(slug, name.strip())


def check_tag_slug(slug: str) -> str:
    if not isinstance(slug, str) or not TAG_SLUG.match(slug):
        raise InvalidValue("a tag slug is 1 to 40 lower-case letters, digits and inner hyphens", field="tags",
                           tag=str(slug)[:50])
    return slug


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """A product's tags: valid slugs, each once (in the order given), at most MAX_TAGS_PER_PRODUCT."""
    unique = tuple(dict.fromkeys(check_tag_slug(tag) for tag in tags))
    if len(unique) > MAX_TAGS_PER_PRODUCT:
        raise InvalidValue(f"a product carries at most {MAX_TAGS_PER_PRODUCT} tags", field="tags")
    return unique


@attrs.frozen
class Rating:
    """What a product's visible reviews add up to: how many, and their stars summed (exact; the
    average is derived)."""

    count: int = 0
    total: int = 0

    @property
    def average(self) -> float | None:
        return round(self.total / self.count, 2) if self.count else None


@attrs.define
class Product:
    id: str
    sku: str
    name: str
    price: Money
    stock: int
    category: str
    active: bool = True
    version: int = 0
    tags: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: Kept by the reviews (under this product's row lock), never by an edit of the product.
    rating: Rating = Rating()

    def check_available(self, quantity: int) -> None:
        if not self.active:
            raise ProductUnavailable(f"{self.sku} is no longer sold", sku=self.sku)
        if quantity > self.stock:
            raise InsufficientStock(
                f"only {self.stock} of {self.sku} left", sku=self.sku, available=self.stock, requested=quantity
            )

    @classmethod
    def create(cls, id: str, sku: str, name: str, price: Money, stock: int, category: str,
               active: bool = True, tags: Iterable[str] = ()) -> Product:
        product = cls(id=id, sku=sku, name=name, price=price, stock=0, category=category, active=active)
        product.revise(name=name, price=price, stock=stock, category=category, active=active, tags=tags)
        product.version = 0
        return product

    def revise(self, *, name: str | None = None, price: Money | None = None, stock: int | None = None,
               category: str | None = None, active: bool | None = None,
               tags: Iterable[str] | None = None) -> None:
        """An admin's edit: each given field replaces the current one (None leaves it)."""
        if name is not None and not name.strip():
            raise InvalidValue("a product needs a name", field="name")
        if price is not None and price.amount < 0:
            raise InvalidValue("a price is >= 0", field="price")
        if stock is not None and (type(stock) is not int or stock < 0):
            raise InvalidValue("stock is a whole number >= 0", field="stock")
        new_tags = check_tags(tags) if tags is not None else self.tags
        self.name = name.strip() if name is not None else self.name
        self.price = price if price is not None else self.price
        self.stock = stock if stock is not None else self.stock
        self.category = category if category is not None else self.category
        self.active = active if active is not None else self.active
        self.tags = new_tags
        self.version += 1

    def take_stock(self, quantity: int) -> None:
        check_quantity(quantity)
        self.check_available(quantity)
        self.stock -= quantity
        self.version += 1

    def release_stock(self, quantity: int) -> None:
        check_quantity(quantity)
        self.stock += quantity
        self.version += 1


def check_quantity(quantity: int) -> None:
    if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidValue(f"quantity must be a whole number from 1 to {MAX_QUANTITY}", quantity=quantity)


@attrs.frozen
class Category:
    slug: str
    name: str


def _non_negative_int(name: str, value: object) -> None:
    if type(value) is not int or value < 0:
        raise InvalidValue(f"coupon {name} must be a whole number >= 0", value=repr(value))


class CouponKind(str, enum.Enum):
    PERCENT = "percent"
    FIXED = "fixed"


@attrs.define
class Coupon:
    """``value`` is basis points for PERCENT (1000 = 10%), minor units of ``currency`` for FIXED.

    ``currency`` None means any currency (percent coupons only); ``min_subtotal`` is then 0 or in
    the checkout's currency.
    """

    code: str
    kind: CouponKind
    value: int = attrs.field(validator=lambda c, a, v: _non_negative_int(a.name, v))
    currency: str | None = None
    min_subtotal: int = attrs.field(default=0, validator=lambda c, a, v: _non_negative_int(a.name, v))
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    max_uses: int | None = None
    uses: int = 0
    active: bool = True
    #: How many orders one user (or guest) may place with this coupon; None = no per-user limit.
    max_uses_per_user: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.currency is not None:
            exponent(self.currency)  # UnknownCurrency for anything we cannot price
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise InvalidValue("a coupon's valid_until must be after its valid_from", code=self.code)
        if self.kind is CouponKind.FIXED and self.currency is None:
            raise InvalidValue("a fixed-amount coupon needs a currency", code=self.code)
        if self.kind is CouponKind.PERCENT and self.value > 10_000:
            raise InvalidValue("a percent coupon is at most 100%", code=self.code)

    def discount_for(self, subtotal: Money, now: datetime, user_uses: int = 0) -> Money:
        """The discount on ``subtotal`` (never above it), or ``CouponInvalid`` saying why not.

        ``user_uses``: orders this customer already placed with the coupon.
        """
        if not self.active:
            raise CouponInvalid("this coupon is not active", code=self.code)
        if self.valid_from and now < self.valid_from:
            raise CouponInvalid("this coupon is not valid yet", code=self.code)
        if self.valid_until and now >= self.valid_until:
            raise CouponInvalid("this coupon has expired", code=self.code)
        if self.max_uses is not None and self.uses >= self.max_uses:
            raise CouponInvalid("this coupon has been used up", code=self.code)
        if self.max_uses_per_user is not None and user_uses >= self.max_uses_per_user:
            raise CouponInvalid("you have already used this coupon as often as it allows", code=self.code,
                                max_uses_per_user=self.max_uses_per_user)
        if self.currency is not None and self.currency != subtotal.currency:
            raise CurrencyMismatch(
                f"coupon {self.code} is for {self.currency}", expected=self.currency, got=subtotal.currency
            )
        if subtotal.amount < self.min_subtotal:
            raise CouponInvalid("the subtotal is below this coupon's minimum", code=self.code)
        if self.kind is CouponKind.PERCENT:
            discount = subtotal.percent_bps(self.value)
        else:
            discount = Money(self.value, subtotal.currency)
        return discount if discount <= subtotal else subtotal

    def redeem(self, subtotal: Money, now: datetime, user_uses: int = 0) -> Money:
        """Count one use (at order confirmation, under a row lock) and return the discount."""
        discount = self.discount_for(subtotal, now, user_uses)
        self.uses += 1
        return discount


@attrs.frozen
class CouponRedemption:
    """One use of a coupon by one order (unique per (coupon, order)); counts per-user limits."""

    coupon_code: str
    order_id: str
    user_id: str
    redeemed_at: datetime
