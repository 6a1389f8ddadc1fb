"""Use cases: the FAQ. Everyone reads it (cached; the HTTP edge keeps it 15 minutes); admins write
it, and every write invalidates the cached page after its commit."""
from __future__ import annotations

from collections.abc import Callable

from application import cache_keys, invalidation
from application.caching import CacheAside
from application.errors import Conflict, Forbidden, NotFound
from application.ports import Clock, IdGenerator
from application.ports.support import FaqUnitOfWork
from domain.errors import InvalidValue
from domain.faq import FaqEntry, FaqPage, FaqSection
from domain.users import Principal


@invalidation.kind("faq")
def _faq_changed(changed: bool) -> invalidation.Stale:
    return [cache_keys.FAQ] if changed else [], []


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only admins may change the FAQ")


class Faq:
    def __init__(self, uow: Callable[[], FaqUnitOfWork], ids: IdGenerator, clock: Clock,
                 cache: CacheAside | None = None) -> None:
        self.uow, self.ids, self.clock, self.cache = uow, ids, clock, cache

    async def page(self) -> FaqPage:
        async with self.uow() as uow:
            return FaqPage.arrange(await uow.faq.sections(), await uow.faq.entries())

    async def _saved(self) -> None:
        await invalidation.changed(self.cache, faq=True)

    async def put_section(self, principal: Principal, slug: str, title: str, position: int = 0) -> FaqSection:
        """Create or rename (and move) a section."""
        _require_admin(principal)
        section = FaqSection.create(slug, title, position)
        async with self.uow() as uow:
            await uow.faq.save_section(section)
            await uow.commit()
        await self._saved()
        return section

    async def delete_section(self, principal: Principal, slug: str) -> None:
        _require_admin(principal)
        async with self.uow() as uow:
            if await uow.faq.lock_section(slug) is None:
                raise NotFound("no such FAQ section", slug=slug)
            if any(e.section == slug for e in await uow.faq.entries()):
                raise Conflict("the section still has entries; move or delete them first", slug=slug)
            await uow.faq.delete_section(slug)
            await uow.commit()
        await self._saved()

    async def add_entry(self, principal: Principal, *, section: str, question: str, answer: str,
                        position: int = 0) -> FaqEntry:
        _require_admin(principal)
        async with self.uow() as uow:
            await self._check_section(uow, section)
            entry = FaqEntry.create(id=self.ids.new_id("faq"), section=section, question=question, answer=answer,
                                    position=position, now=self.clock.now())
            await uow.faq.add_entry(entry)
            await uow.commit()
        await self._saved()
        return entry

    async def revise_entry(self, principal: Principal, entry_id: str, *, section: str | None = None,
                           question: str | None = None, answer: str | None = None,
                           position: int | None = None) -> FaqEntry:
        _require_admin(principal)
        async with self.uow() as uow:
            entry = await uow.faq.get_entry(entry_id)
            if entry is None:
                raise NotFound("no such FAQ entry", entry_id=entry_id)
            if section is not None:
                await self._check_section(uow, section)
            entry.revise(section=section, question=question, answer=answer, position=position, now=self.clock.now())
            await uow.faq.save_entry(entry)
            await uow.commit()
        await self._saved()
        return entry

    async def delete_entry(self, principal: Principal, entry_id: str) -> None:
        _require_admin(principal)
        async with self.uow() as uow:
            if await uow.faq.get_entry(entry_id) is None:
                raise NotFound("no such FAQ entry", entry_id=entry_id)
            await uow.faq.delete_entry(entry_id)
            await uow.commit()
        await self._saved()

    async def seed(self, sections: list[FaqSection], entries: list[FaqEntry]) -> int:
        """Demo data: add the sections and entries missing (by slug and id)."""
        added = 0
        async with self.uow() as uow:
            known = {s.slug for s in await uow.faq.sections()}
            for section in sections:
                if section.slug not in known:
                    await uow.faq.save_section(section)
            for entry in entries:
                if await uow.faq.get_entry(entry.id) is None:
                    await uow.faq.add_entry(entry)
                    added += 1
            await uow.commit()
        return added

    @staticmethod
    async def _check_section(uow: FaqUnitOfWork, slug: str) -> None:
        if await uow.faq.lock_section(slug) is None:
            raise InvalidValue(f"unknown FAQ section {slug!r}; create it first", field="section")
