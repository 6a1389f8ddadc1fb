"""fraud: the rules every payment attempt is judged by (``FraudChecker``), and their record of attempts
(reaped by the back office's jobs)."""
from dependency_injector import containers, providers

from adapters.backoffice_files import load_fraud_rules
from adapters.memory.fraud import MemoryFraudSignals
from adapters.postgres.fraud import PostgresFraudSignals
from application.fraud import RiskRules


class FraudContainer(containers.DeclarativeContainer):
    exports = {"fraud_rules": "rules"}

    config = providers.Configuration()
    core = providers.DependenciesContainer()
    storage = providers.DependenciesContainer()

    rules = providers.Singleton(load_fraud_rules, providers.Callable(lambda s: s.fraud.rules_file, core.settings),
                                config.fraud_max_amount)
    signals = providers.Selector(
        config.storage, memory=providers.Singleton(MemoryFraudSignals, storage.memory_store),
        postgres=providers.Singleton(PostgresFraudSignals, storage.pg_side_pool))
    checker = providers.Singleton(
        RiskRules, rules, signals, core.clock, core.ids, bus=storage.bus,
        on_decision=providers.Callable(lambda m: lambda outcome: m.fraud_decisions.labels(outcome).inc(), core.metrics))
