"""Request, response and query models of the storefront's contexts (issue 18): tags, the wishlist,
reviews, support (tickets, contact form, FAQ) and profiles. Strict requests, declared responses
(see ``schemas.py``)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, RootModel, StringConstraints

from domain.support import TicketStatus
from entrypoints.http.params import BLANK_IS_NONE, Page, Refusal, Text, at_most
from entrypoints.http.schemas import AddressIn, Id, Out, Quantity, Sku, Strict, UserOut

Slug = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Position = Annotated[int, Field(ge=0, le=10_000)]
Message = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Question = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Answer = Annotated[str, StringConstraints(min_length=1, max_length=5000)]


# -- tags ---------------------------------------------------------------------------------------
class TagIn(Strict):
    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]


class TagOut(Out):
    slug: str
    name: str


class TagsOut(RootModel[list[TagOut]]):
    """Every tag, by slug, as a bare array."""


# -- wishlist -----------------------------------------------------------------------------------
class WishlistItemIn(Strict):
    sku: Sku


class MoveToCartIn(Strict):
    quantity: Quantity = 1


class WishlistItemOut(Out):
    sku: str
    added_at: str
    #: None when the product is gone
    product_id: str | None
    name: str | None
    #: today's price, in minor units of ``currency``
    price: int | None
    currency: str | None
    #: on sale and in stock
    available: bool


class WishlistMergeOut(Out):
    #: the SKUs of the guest's wishlist left out of yours (it was full)
    skipped: list[str]


# -- reviews ------------------------------------------------------------------------------------
Stars = Annotated[int, Field(ge=1, le=5)]
ReviewBody = Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class ReviewIn(Strict):
    rating: Stars
    body: ReviewBody


class ReviewEditIn(Strict):
    rating: Stars | None = None
    body: ReviewBody | None = None


class HideIn(Strict):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class ReviewOut(Out):
    id: str
    product_id: str
    author_name: str
    rating: int
    body: str
    created_at: str
    updated_at: str
    hidden: bool


class ReviewAdminOut(ReviewOut):
    author_id: str
    hidden_reason: str | None


# -- support ------------------------------------------------------------------------------------
class TicketIn(Strict):
    subject: Title
    body: Message
    order_id: Id | None = None


class MessageIn(Strict):
    body: Message


class TicketStatusIn(Strict):
    status: Literal["open", "pending", "resolved", "closed"]


class AssignIn(Strict):
    #: a staff member's user id; null takes the ticket from whoever had it
    assignee_id: Id | None


class TicketMessageOut(Out):
    id: str
    author_role: Literal["customer", "staff"]
    body: str
    created_at: str


class TicketSummaryOut(Out):
    id: str
    subject: str
    status: Literal["open", "pending", "resolved", "closed"]
    order_id: str | None
    assignee_id: str | None
    message_count: int
    created_at: str
    updated_at: str
    settled_at: str | None


class TicketOut(TicketSummaryOut):
    messages: list[TicketMessageOut]


class TicketsQuery(Page):
    status: Annotated[TicketStatus | None, BLANK_IS_NONE, at_most(20),
                      Refusal("unknown ticket status {input!r}", lengths=False)] = None
    assignee_id: Text = Field(None, description="staff only: the tickets of this staff member")


class ContactIn(Strict):
    name: Title
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    message: Message


class ContactReceivedOut(Out):
    id: str
    received: Literal[True]
    created_at: str


class ContactMessageOut(Out):
    id: str
    name: str
    email: str
    message: str
    created_at: str
    sender_id: str | None


# -- FAQ ----------------------------------------------------------------------------------------
class FaqSectionIn(Strict):
    title: Title
    position: Position = 0


class FaqEntryIn(Strict):
    section: Slug
    question: Question
    answer: Answer
    position: Position = 0


class FaqEntryEditIn(Strict):
    section: Slug | None = None
    question: Question | None = None
    answer: Answer | None = None
    position: Position | None = None


class FaqEntryOut(Out):
    id: str
    question: str
    answer: str
    position: int


class FaqEntryAdminOut(FaqEntryOut):
    section: str
    updated_at: str


class FaqSectionOut(Out):
    slug: str
    title: str
    position: int


class FaqPageSectionOut(FaqSectionOut):
    entries: list[FaqEntryOut]


class FaqOut(Out):
    #: in order; a section without entries is left out
    sections: list[FaqPageSectionOut]


# -- profiles -----------------------------------------------------------------------------------
class ProfileAddressOut(Out):
    country: str
    city: str
    line1: str
    postal_code: str | None


class ProfileOut(UserOut):
    #: None for a guest or when not given
    phone: str | None
    default_address: ProfileAddressOut | None


class ProfileIn(Strict):
    """Each field sent replaces the current one; ``null`` clears phone or default_address (a name
    cannot be cleared: it is not nullable)."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] = None  # type: ignore[assignment]
    #: ``domain.users.PHONE`` once spaces, dots, dashes and brackets are taken out
    phone: Annotated[str, StringConstraints(min_length=1, max_length=32,
                                            pattern=r"^[\s().-]*\+[\s().-]*[1-9](?:[\s().-]*[0-9]){6,14}[\s().-]*$")] | None = None
    default_address: AddressIn | None = None


class ChangePasswordIn(Strict):
    old_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Annotated[str, StringConstraints(min_length=8, max_length=256)]
