"""checkout: checkout sessions, pricing, coupon redemptions, confirmation into an order."""
from dependency_injector import containers, providers

from application.checkout import Checkout


class CheckoutContainer(containers.DeclarativeContainer):
    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()
    cache = providers.DependenciesContainer()

    checkout = providers.Singleton(
        Checkout, storage.uow, cache.sessions, core.clock, core.ids, shipping_rates=core.shipping_rates,
        tax_rules=core.tax_rules, cache=cache.cache, session_ttl=config.checkout_session_ttl,
        product_ttl=providers.Callable(lambda ttls: ttls["product"], config.ttls))
