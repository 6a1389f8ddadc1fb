"""Request readers: one canonical form per query, however it was written."""
from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from entrypoints.http.params import canonical_query


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
