"""Demo data for the embedded default: a small catalog in NGN, USD, GHS and KES with a few tags,
coupon WELCOME10, a few reviews, an FAQ, and the default shipping, pickup-station and tax tables (overridable with PAYPORT_PRICING_FILE, a JSON
file of the same shape as DEFAULT_PRICING: ``shipping.rates``, ``shipping.free_over``,
``shipping.stations`` {country: [{id, name, city, line1?}]}, ``tax`` {country: {rate_bps, inclusive?}})."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from domain.catalog import Category, Coupon, CouponKind, Product, Tag
from domain.faq import FaqEntry, FaqSection
from domain.money import Money
from domain.places import Station
from domain.pricing import ShippingRates, TaxRule, TaxRules
from domain.reviews import Review

CATEGORIES = [Category("electronics", "Electronics"), Category("fashion", "Fashion"),
              Category("groceries", "Groceries"), Category("books", "Books")]

_PRODUCTS = [
    # sku, name, price (minor units), currency, stock, category
    ("NG-PHONE-01", "Tecno Spark 20 phone", 15_000_000, "NGN", 50, "electronics"),
    ("NG-ANKARA-01", "Ankara print shirt", 1_250_000, "NGN", 200, "fashion"),
    ("NG-RICE-5KG", "Local rice, 5 kg", 850_000, "NGN", 500, "groceries"),
    ("US-HEADPHONES", "Wireless headphones", 7_999, "USD", 100, "electronics"),
    ("US-BOOK-DDD", "Domain-Driven Design (book)", 4_550, "USD", 40, "books"),
    ("GH-KENTE-01", "Kente stole", 45_000, "GHS", 60, "fashion"),
    ("GH-COCOA-1KG", "Cocoa powder, 1 kg", 6_500, "GHS", 300, "groceries"),
    ("KE-TEA-500G", "Kenyan black tea, 500 g", 45_000, "KES", 400, "groceries"),
    ("KE-KIKOY-01", "Kikoy beach towel", 180_000, "KES", 80, "fashion"),
]


TAGS = [Tag("bestseller", "Bestsellers"), Tag("gift-ideas", "Gift ideas"), Tag("made-in-africa", "Made in Africa"),
        Tag("staples", "Kitchen staples")]
_TAGGED = {
    "NG-PHONE-01": ("bestseller",), "NG-ANKARA-01": ("made-in-africa", "gift-ideas"), "NG-RICE-5KG": ("staples",),
    "US-HEADPHONES": ("bestseller", "gift-ideas"), "US-BOOK-DDD": ("gift-ideas",),
    "GH-KENTE-01": ("made-in-africa", "gift-ideas"), "GH-COCOA-1KG": ("made-in-africa", "staples"),
    "KE-TEA-500G": ("made-in-africa", "staples", "bestseller"), "KE-KIKOY-01": ("made-in-africa",),
}


def _product_id(sku: str) -> str:
    return f"prd_{sku.lower().replace('-', '_')}"


def demo_products() -> list[Product]:
    return [Product(id=_product_id(sku), sku=sku, name=name, price=Money(price, currency), stock=stock,
                    category=category, tags=_TAGGED.get(sku, ()))
            for sku, name, price, currency, stock, category in _PRODUCTS]


_SINCE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_REVIEWS = [
    # sku, author, stars, words
    ("NG-PHONE-01", "Chidi", 5, "Battery lasts two days and the camera is better than I expected."),
    ("NG-PHONE-01", "Funmi", 4, "Good value. The charger that came with it is slow."),
    ("KE-TEA-500G", "Wanjiru", 5, "Strong and bright, exactly like the tea at home in Kericho."),
    ("GH-KENTE-01", "Akosua", 5, "Beautiful weave, worn to my sister's wedding."),
    ("US-HEADPHONES", "Sam", 3, "Comfortable, but the noise cancelling is only average."),
]


def demo_reviews() -> list[Review]:
    """Reviews by demo customers (they bought before the demo began: no order is needed)."""
    return [Review.write(id=f"rev_demo_{n}", product_id=_product_id(sku), author_id=f"usr_demo_{author.lower()}",
                         author_name=author, rating=stars, body=words, now=_SINCE + timedelta(days=n))
            for n, (sku, author, stars, words) in enumerate(_REVIEWS)]


FAQ_SECTIONS = [FaqSection("ordering", "Ordering", 0), FaqSection("payments", "Payments", 1),
                FaqSection("delivery", "Delivery", 2), FaqSection("returns", "Returns and refunds", 3)]
_FAQ = [
    ("ordering", "Do I need an account to order?",
     "No. You can check out as a guest; an account keeps your cart, wishlist and orders between visits."),
    ("ordering", "Can I change an order after placing it?",
     "While it is unpaid you can cancel it and order again. Once paid, open a support ticket about it."),
    ("payments", "Which ways to pay do you take?",
     "Cards through Stripe and Paystack, Flutterwave, and MTN Mobile Money, depending on your currency."),
    ("payments", "Is it safe to pay twice if the page froze?",
     "Yes: a payment retried with the same request is never charged twice."),
    ("delivery", "How long does delivery take?",
     "Standard delivery takes 2 to 5 working days, express 1 to 2. Pickup stations are ready the next day."),
    ("returns", "How do refunds work?",
     "Refunds go back to the way you paid, usually within 5 to 10 working days."),
]


def demo_faq() -> tuple[list[FaqSection], list[FaqEntry]]:
    entries = [FaqEntry(id=f"faq_demo_{n}", section=section, question=question, answer=answer, position=n,
                        updated_at=_SINCE) for n, (section, question, answer) in enumerate(_FAQ)]
    return FAQ_SECTIONS, entries


def demo_coupons() -> list[Coupon]:
    return [Coupon(code="WELCOME10", kind=CouponKind.PERCENT, value=1000)]


DEFAULT_PRICING = {
    "shipping": {
        "rates": {
            "NG": {"standard": {"NGN": 150_000, "USD": 1_500}, "express": {"NGN": 350_000, "USD": 3_500},
                   "pickup": {"NGN": 50_000, "USD": 500}},
            "GH": {"standard": {"GHS": 2_500, "USD": 1_500}, "express": {"GHS": 6_000, "USD": 3_500},
                   "pickup": {"GHS": 1_000}},
            "KE": {"standard": {"KES": 30_000, "USD": 1_500}, "express": {"KES": 70_000, "USD": 3_500},
                   "pickup": {"KES": 15_000}},
            "*": {"standard": {"USD": 2_500, "NGN": 2_500_000, "GHS": 25_000, "KES": 300_000},
                  "express": {"USD": 6_000, "NGN": 6_000_000, "GHS": 60_000, "KES": 700_000}},
        },
        "free_over": {"NGN": 5_000_000, "USD": 15_000, "GHS": 150_000, "KES": 1_000_000},
        "stations": {
            "NG": [{"id": "ng-lag-jibowu", "name": "Jibowu bus terminal", "city": "Lagos", "line1": "Ikorodu Rd"},
                   {"id": "ng-lag-ojota", "name": "Ojota new motor park", "city": "Lagos"},
                   {"id": "ng-abj-utako", "name": "Utako motor park", "city": "Abuja"}],
            "GH": [{"id": "gh-acc-kaneshie", "name": "Kaneshie station", "city": "Accra"}],
            "KE": [{"id": "ke-nbo-machakos", "name": "Machakos Country Bus station", "city": "Nairobi"}],
        },
    },
    "tax": {"NG": {"rate_bps": 750}, "GH": {"rate_bps": 1500}, "KE": {"rate_bps": 1600},
            "US": {"rate_bps": 0}, "GB": {"rate_bps": 2000, "inclusive": True}, "UG": {"rate_bps": 1800}},
}


def load_pricing(path: str | None) -> tuple[ShippingRates, TaxRules]:
    data = json.loads(Path(path).read_text()) if path else DEFAULT_PRICING
    shipping = data["shipping"]
    stations = {country.upper(): tuple(Station(str(st["id"]), str(st["name"]), str(st["city"]), country.upper(),
                                               str(st.get("line1", ""))) for st in listed)
                for country, listed in shipping.get("stations", {}).items()}
    rates = ShippingRates(rates=shipping["rates"], free_over=shipping.get("free_over", {}), stations=stations)
    taxes = TaxRules({country.upper(): TaxRule(int(rule["rate_bps"]), bool(rule.get("inclusive", False)))
                      for country, rule in data["tax"].items()})
    return rates, taxes
