"""The FAQ: questions and answers in ordered sections, written by admins, read by everyone."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from domain.catalog import TAG_SLUG
from domain.errors import InvalidValue

MAX_QUESTION = 300
MAX_ANSWER = 5000


def _text(value: str, field: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidValue(f"{field} is 1 to {limit} characters", field=field)
    return value


def _position(value: int) -> int:
    if type(value) is not int or not 0 <= value <= 10_000:
        raise InvalidValue("position is a whole number from 0 to 10000", field="position")
    return value


@attrs.frozen
class FaqSection:
    """A heading of the FAQ; sections are shown by (position, slug)."""

    slug: str
    title: str
    position: int = 0

    @classmethod
    def create(cls, slug: str, title: str, position: int = 0) -> FaqSection:
        if not TAG_SLUG.match(slug):
            raise InvalidValue("a section slug is 1 to 40 lower-case letters, digits and inner hyphens",
                               field="slug")
        return cls(slug, _text(title, "title", 200), _position(position))


@attrs.define
class FaqEntry:
    """One question and its answer, in a section; entries are shown by (position, id)."""

    id: str
    section: str
    question: str
    answer: str
    position: int
    updated_at: datetime

    @classmethod
    def create(cls, *, id: str, section: str, question: str, answer: str, position: int,
               now: datetime) -> FaqEntry:
        return cls(id, section, _text(question, "question", MAX_QUESTION), _text(answer, "answer", MAX_ANSWER),
                   _position(position), now)

    def revise(self, *, section: str | None, question: str | None, answer: str | None, position: int | None,
               now: datetime) -> None:
        question = _text(question, "question", MAX_QUESTION) if question is not None else self.question
        answer = _text(answer, "answer", MAX_ANSWER) if answer is not None else self.answer
        position = _position(position) if position is not None else self.position
        self.section = section if section is not None else self.section
        self.question, self.answer, self.position, self.updated_at = question, answer, position, now


@attrs.frozen
class FaqPage:
    """The whole FAQ as shown: each section with its entries, in order (empty sections left out)."""

    sections: list[tuple[FaqSection, list[FaqEntry]]]

    @classmethod
    def arrange(cls, sections: Iterable[FaqSection], entries: Iterable[FaqEntry]) -> FaqPage:
        by_section: dict[str, list[FaqEntry]] = {}
        for entry in entries:
            by_section.setdefault(entry.section, []).append(entry)
        ordered = sorted(sections, key=lambda s: (s.position, s.slug))
        return cls([(s, sorted(by_section[s.slug], key=lambda e: (e.position, e.id)))
                    for s in ordered if by_section.get(s.slug)])
