"""support: tickets and their thread, the contact form, the FAQ (cached, invalidated on save)."""
from dependency_injector import containers, providers

from application.support.contact import ContactForm
from application.support.faq import Faq
from application.support.tickets import Tickets


class SupportContainer(containers.DeclarativeContainer):
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()

    support_tickets = providers.Singleton(Tickets, storage.uow, core.ids, core.clock)
    contact_form = providers.Singleton(ContactForm, storage.uow, core.ids, core.clock)
    faq = providers.Singleton(Faq, storage.uow, core.ids, core.clock, cache=cache.cache)
