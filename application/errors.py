"""Application errors: outcomes a use case reports that are not domain rules (not found, conflict...).

They are ``Failure``s, not ``DomainError``s: "the database is down" is no broken business rule.
"""
from domain.errors import Failure, Kind


class ApplicationError(Failure):
    code = "application_error"


class NotFound(ApplicationError):
    """Also what a caller gets for another caller's resource (ownership answers 404)."""

    code = "not_found"
    kind = Kind.NOT_FOUND


class Unauthorized(ApplicationError):
    code = "unauthorized"
    kind = Kind.UNAUTHORIZED


class TokenRecheckDue(Exception):
    """An access token whose remembered verification has run out: ``await Auth.authenticate(token)``
    reads its user again. Not a failure of the request: the HTTP edge awaits that check, and
    answers 401 (``problems.from_exception``) where something did not expect it."""

    def __init__(self, token: str) -> None:
        super().__init__("the token must be checked again")
        self.token = token


class Forbidden(ApplicationError):
    code = "forbidden"
    kind = Kind.FORBIDDEN


class Conflict(ApplicationError):
    code = "conflict"
    kind = Kind.CONFLICT


class AlreadyExists(Conflict):
    code = "already_exists"


class ForeignReport(Conflict):
    """A payment outcome reported by a gateway that is not the payment's own: it changes nothing."""

    code = "foreign_report"


class ConstraintViolated(Conflict):
    """A database constraint refused a change the application let through (a check, a foreign key,
    a guard trigger): nothing was changed. A bug signal, logged by the adapter, but never a 500."""

    code = "constraint_violated"


class ConcurrencyConflict(Conflict):
    """An optimistic version check failed: someone else changed the row first."""

    code = "concurrent_update"
    title = "Concurrent update"
    transient = True


class RateLimited(ApplicationError):
    code = "rate_limited"
    transient = True
    kind = Kind.RATE_LIMITED

    def __init__(self, message: str, retry_after: float, **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class GatewayError(ApplicationError):
    """The gateway refused or failed; ``retryable`` says whether the same call may be repeated."""

    code = "gateway_error"
    kind = Kind.UPSTREAM
    title = "Payment gateway error"

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None,
                 **details: object) -> None:
        super().__init__(message, **details)
        self.retryable = retryable
        self.retry_after = retry_after


class GatewayUnavailable(GatewayError):
    """Circuit open, disabled, or no answer: nothing was (knowingly) done at the gateway."""

    code = "gateway_unavailable"
    transient = True
    kind = Kind.UNAVAILABLE
    title = "Payment gateway unavailable"


class GatewayTimeout(GatewayError):
    """Sent but no answer: the outcome is unknown and must be settled by a status query."""

    code = "gateway_timeout"
    transient = True
    kind = Kind.TIMED_OUT
    title = "Payment gateway timed out"


class DependencyUnavailable(ApplicationError):
    """A backing service (database, cache) is down; the request may be retried later."""

    code = "dependency_unavailable"
    transient = True
    kind = Kind.UNAVAILABLE

    def __init__(self, message: str, dependency: str, retry_after: float = 5) -> None:
        super().__init__(message, dependency=dependency)
        self.retry_after = retry_after
