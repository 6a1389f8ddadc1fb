"""Request readers: one canonical form per query, however it was written; query models parsed with\nthe answers the routes always gave."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from domain.errors import InvalidValue
from entrypoints.http.openapi import _query_parameters
from entrypoints.http.params import Page, canonical_query, parse_query
from entrypoints.http.queries import NotificationsQuery, OrdersQuery, PaymentsQuery, ShippingOptionsQuery


def canonical(query: str) -> str:
    return canonical_query(make_mocked_request("GET", "/api/v1/products?" + query))


def test_the_order_of_parameters_does_not_name_another_list():
    assert canonical("limit=10&category=groceries") == canonical("category=groceries&limit=10") == \
        "category=groceries&limit=10"


def test_encodings_of_one_value_are_one_key_and_values_stay_distinct():
    assert canonical("search=rice%20bag") == canonical("search=rice+bag") == "search=rice+bag"
    assert canonical("search=a&search=b") != canonical("search=a")
    assert canonical("search=%E2%82%AC") == "search=%E2%82%AC"


def test_a_long_query_is_canonical_too_though_not_remembered():
    long = "&".join(f"k{i}=v{i}" for i in range(40))
    assert len(long) > 256
    assert canonical(long) == canonical("&".join(reversed(long.split("&"))))


# -- query models: typed in the spec, parsed once, refused with the answers the list routes always gave
def parse(model, query: str):
    return parse_query(model, make_mocked_request("GET", "/x?" + query))


def refusal(model, query: str) -> tuple[str, str]:
    with pytest.raises(InvalidValue) as caught:
        parse(model, query)
    return caught.value.details["field"], caught.value.message


def test_a_page_query_has_defaults_and_ignores_what_it_does_not_name():
    assert parse(Page, "") == Page(limit=10, cursor=None)
    assert parse(Page, "limit=100&cursor=abc&other=1") == Page(limit=100, cursor="abc")
    assert parse(Page, "cursor=") == Page(limit=10, cursor=None)  # empty is absent
    assert parse(Page, "limit=5&limit=abc").limit == 5  # the first of repeated parameters


@pytest.mark.parametrize("limit", ["0", "101", "abc", "", "-1", "+5", "%205", "5.0", "%C2%B2"])
def test_a_limit_is_a_whole_number_from_1_to_100(limit):
    assert refusal(Page, f"limit={limit}") == ("limit", "limit must be a whole number from 1 to 100")


def test_texts_and_cursors_are_bounded():
    assert refusal(Page, "cursor=" + "c" * 513) == ("cursor", "cursor is not one this API returned")
    assert parse(Page, "cursor=" + "c" * 512).cursor == "c" * 512
    assert refusal(OrdersQuery, "search=" + "s" * 101) == ("search", "search is at most 100 characters")
    assert refusal(PaymentsQuery, "order_id=" + "o" * 101) == ("order_id", "order_id is at most 100 characters")


def test_statuses_are_enums_read_as_their_values():
    assert parse(OrdersQuery, "status=paid").status == "paid"
    assert parse(OrdersQuery, "status=").status is None
    assert refusal(OrdersQuery, "status=nonsense") == ("status", "unknown order status 'nonsense'")
    assert refusal(PaymentsQuery, "status=paid") == ("status", "unknown payment status 'paid'")
    assert refusal(OrdersQuery, "status=" + "s" * 101) == ("status", "status is at most 100 characters")
    assert refusal(OrdersQuery, "status=nonsense&search=" + "s" * 101)[0] == "search"  # the use case checked status last


def test_shipping_options_need_a_country_and_name_an_overlong_value_first():
    assert parse(ShippingOptionsQuery, "country=ng&currency=NGN").model_dump() == {"country": "ng", "currency": "NGN"}
    for query in ("", "country=", "country=N1"):
        assert refusal(ShippingOptionsQuery, query) == ("country", "country is a two-letter ISO code")
    assert refusal(ShippingOptionsQuery, "country=NGA") == ("country", "country is at most 2 characters")
    assert refusal(ShippingOptionsQuery, "country=NG&currency=ngn") == ("currency", "currency is a three-letter ISO code")
    assert refusal(ShippingOptionsQuery, "country=N1&currency=naira") == ("currency", "currency is at most 3 characters")


@pytest.mark.parametrize("value, unread", [("true", True), ("TRUE", True), ("1", True), ("yes", True),
                                           ("false", False), ("maybe", False), ("", False)])
def test_unread_is_true_for_the_words_it_always_took(value, unread):
    assert parse(NotificationsQuery, f"unread={value}").unread is unread
    assert parse(NotificationsQuery, "").unread is False


def test_the_spec_types_each_query_parameter():
    components: dict = {}
    params = {p["name"]: p for p in _query_parameters(OrdersQuery, components)}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 10}
    assert params["cursor"]["schema"] == {"type": "string", "maxLength": 512}
    assert params["search"]["schema"] == {"type": "string", "maxLength": 100}
    assert params["status"]["schema"] == {"$ref": "#/components/schemas/OrderStatus"}
    assert "paid" in components["OrderStatus"]["enum"]
    assert not any(p["required"] for p in params.values())
    country = _query_parameters(ShippingOptionsQuery, {})[0]
    assert country["required"] and country["schema"]["pattern"] == "^[A-Za-z]{2}$"
