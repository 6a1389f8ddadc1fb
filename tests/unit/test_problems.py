"""Failures and their HTTP answers: two families on one base, the status by kind in one table.

``ANSWERED`` is written out by hand from what the service answered before kinds existed (the
most specific class of the old per-class table won), so no status or title drifts unnoticed.
"""
from __future__ import annotations

import importlib
import pkgutil

import orjson
import pytest

import application
import domain
from application import errors as app
from application.ports.mail import MailUndelivered
from application.reviews import NotABuyer
from domain import errors as dom
from domain.errors import Failure, Kind
from domain.support import ReopenWindowPassed
from entrypoints.http import problems

ANSWERED: dict[type[Failure], tuple[int, str]] = {
    dom.Failure: (422, "Invalid request"),
    dom.DomainError: (422, "Invalid request"),
    dom.InvalidValue: (422, "Invalid request"),
    dom.UnknownCurrency: (422, "Invalid request"),
    dom.CurrencyMismatch: (422, "Currency mismatch"),
    dom.CouponInvalid: (422, "Coupon not applicable"),
    dom.RefundExceedsCaptured: (422, "Refund exceeds the refundable amount"),
    dom.IllegalTransition: (409, "Not allowed in the current state"),
    dom.InsufficientStock: (409, "Insufficient stock"),
    dom.ProductUnavailable: (409, "Product unavailable"),
    dom.RefundNotAllowed: (409, "Refund not allowed"),
    dom.PaymentNotAllowed: (409, "Payment not allowed"),
    dom.CancellationNotAllowed: (409, "Cancellation not allowed"),  # issue 17
    app.ApplicationError: (422, "Invalid request"),
    app.NotFound: (404, "Not found"),
    app.Unauthorized: (401, "Unauthorized"),
    app.Forbidden: (403, "Forbidden"),
    app.Conflict: (409, "Conflict"),
    app.AlreadyExists: (409, "Conflict"),
    app.ConcurrencyConflict: (409, "Concurrent update"),
    app.ConstraintViolated: (409, "Conflict"),
    app.ForeignReport: (409, "Conflict"),
    app.RateLimited: (429, "Too many requests"),
    app.GatewayError: (502, "Payment gateway error"),
    app.GatewayUnavailable: (503, "Payment gateway unavailable"),
    app.GatewayTimeout: (504, "Payment gateway timed out"),
    app.DependencyUnavailable: (503, "Service temporarily unavailable"),
    # issue 18
    NotABuyer: (403, "Only buyers may review"),
    ReopenWindowPassed: (409, "Too late to reopen"),
    MailUndelivered: (502, "Upstream service error"),
}


def _failure_classes() -> set[type[Failure]]:
    """Every failure class declared in domain/ and application/ (tests' own left out)."""
    for package in (domain, application):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    found, todo = set(), [Failure]
    while todo:
        cls = todo.pop()
        if cls.__module__.split(".")[0] in ("domain", "application"):
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def make(cls: type[Failure], message: str = "it went wrong", **details: object) -> Failure:
    if issubclass(cls, app.RateLimited):
        return cls(message, retry_after=details.pop("retry_after", 1.2), **details)
    if issubclass(cls, app.DependencyUnavailable):
        return cls(message, dependency="postgres")
    return cls(message, **details)


def test_every_failure_class_is_pinned() -> None:
    assert _failure_classes() == set(ANSWERED)


def test_application_errors_are_not_domain_errors() -> None:
    application_classes = [cls for cls in ANSWERED if issubclass(cls, app.ApplicationError)]
    assert len(application_classes) == 13 + 2 + 1  # issue 18: NotABuyer, MailUndelivered; issue 13: ConstraintViolated
    for cls in application_classes:
        assert not issubclass(cls, dom.DomainError), cls
        assert issubclass(cls, Failure)
    assert issubclass(dom.DomainError, Failure) and not issubclass(dom.DomainError, app.ApplicationError)


def test_every_kind_has_one_status() -> None:
    assert set(problems.STATUS) == set(Kind)
    for cls in ANSWERED:
        assert isinstance(cls.kind, Kind), cls


@pytest.mark.parametrize("cls", list(ANSWERED), ids=lambda c: c.__name__)
def test_each_failure_answers_as_it_did(cls: type[Failure]) -> None:
    exc = make(cls, "it went wrong", subject="s-1")
    response = problems.from_exception(exc)
    status, title = ANSWERED[cls]
    body = orjson.loads(response.body)
    assert (response.status, response.content_type) == (status, problems.CONTENT_TYPE)
    assert body == {"type": f"urn:payport:problem:{cls.code}", "title": title, "status": status,
                    "detail": "it went wrong", "code": cls.code,
                    **({"dependency": "postgres"} if cls is app.DependencyUnavailable else {"subject": "s-1"})}
    assert problems.status_of(exc) == (status, title)


@pytest.mark.parametrize(("exc", "retry_after"), [
    (app.RateLimited("slow down", retry_after=1.2), "2"),
    (app.GatewayUnavailable("circuit open", retry_after=2.0), "2"),
    (app.GatewayError("busy", retryable=True, retry_after=0.1), "1"),
    (app.DependencyUnavailable("db down", "postgres"), "5"),
    (app.GatewayTimeout("no answer", retry_after=3.0), None),  # 504: the outcome is unknown, no retry hint
    (app.GatewayError("refused"), None),
], ids=["429", "503-gateway", "502", "503-dependency", "504", "502-no-hint"])
def test_retry_after_where_it_was_sent(exc: Failure, retry_after: str | None) -> None:
    assert problems.from_exception(exc).headers.get("Retry-After") == retry_after


def test_unauthorized_asks_for_a_bearer_token() -> None:
    assert problems.from_exception(app.Unauthorized("log in")).headers["WWW-Authenticate"] == "Bearer"
    assert "WWW-Authenticate" not in problems.from_exception(app.Forbidden("no")).headers


def test_an_invalid_field_is_listed_in_errors() -> None:
    body = orjson.loads(problems.from_exception(dom.InvalidValue("too long", field="name")).body)
    assert body["errors"] == [{"field": "name", "message": "too long"}]
    conflict = orjson.loads(problems.from_exception(dom.InsufficientStock("none left", field="sku")).body)
    assert "errors" not in conflict  # only 422s list fields


def test_a_failure_outside_both_families_is_answered_by_its_kind() -> None:
    class Overbooked(Failure):
        code = "overbooked"
        kind = Kind.CONFLICT

    class Throttled(Failure):
        code = "throttled"
        kind = Kind.RATE_LIMITED
        title = "Slow down"

    assert problems.status_of(Overbooked("full")) == (409, "Conflict")
    assert problems.status_of(Throttled("later")) == (429, "Slow down")
