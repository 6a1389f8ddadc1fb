"""Routing (currency/country order, sandbox last), failover for initialization only, settings."""
from __future__ import annotations


from adapters.gateways.config import (FlutterwaveSettings, MomoSettings, PaystackSettings, StripeSettings,
                                      gateway_settings_from_env)
from adapters.gateways.resilience import ResilientGateway
from adapters.gateways.routing import StaticGatewayRegistry, build_registry
from application.ports.gateways import InitializedPayment
from domain.payments import PaymentStatus

ALL = frozenset({"NGN", "GHS", "KES", "UGX", "RWF", "XOF", "XAF", "USD", "EUR", "GBP"})


class Fake:
    weak_webhook_auth = False

    def __init__(self, name, currencies=ALL, outcome=None, enabled=True):
        self.name, self.currencies, self.outcome, self.enabled, self.calls = name, currencies, outcome, enabled, 0

    async def initialize_payment(self, request):
        self.calls += 1
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return InitializedPayment(PaymentStatus.REQUIRES_ACTION, f"{self.name}_1", f"https://{self.name}")


def registry(*fakes, routes=None):
    return StaticGatewayRegistry({f.name: f for f in fakes}, routes)


def test_default_routes_and_sandbox_last():
    reg = registry(*(Fake(n) for n in ("stripe", "paystack", "flutterwave", "mtn_momo", "sandbox")))
    assert reg.route("NGN", None) == ["paystack", "flutterwave"]
    assert reg.route("ghs", "GH") == ["paystack", "flutterwave"]
    assert reg.route("KES", "KE") == ["flutterwave"]
    for cur in ("UGX", "RWF", "XOF", "XAF"):
        assert reg.route(cur, None) == ["mtn_momo", "flutterwave"]
    for cur in ("USD", "EUR", "GBP"):
        assert reg.route(cur, None) == ["stripe"]
    assert reg.route("JPY", None) == ["sandbox"]  # only where no real gateway takes the currency
    only_sandbox = registry(Fake("sandbox"))
    assert only_sandbox.route("NGN", None) == ["sandbox"]  # the embedded default
    assert set(reg.names()) == {"stripe", "paystack", "flutterwave", "mtn_momo", "sandbox"}


def test_country_override_missing_disabled_and_unsupported_skipped():
    reg = registry(Fake("paystack", enabled=False), Fake("flutterwave"), Fake("mtn_momo", frozenset({"UGX"})),
                   routes={"GHS": ["paystack", "flutterwave"], "GHS:GH": ["mtn_momo", "flutterwave"],
                           "XOF": ["mtn_momo", "stripe", "flutterwave"]})
    assert reg.route("GHS", "GH") == ["flutterwave"]  # mtn_momo does not take GHS here
    assert reg.route("GHS", "NG") == ["flutterwave"]  # paystack disabled
    assert reg.route("XOF", None) == ["flutterwave"]  # stripe not registered
    assert reg.get("paystack") is None and "sandbox" not in reg.route("GHS", None)


SECRETS = {"STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_test_x",
           "PAYSTACK_SECRET_KEY": "sk_test_paystack_x", "FLUTTERWAVE_SECRET_KEY": "FLWSECK_TEST-x",
           "FLUTTERWAVE_SECRET_HASH": "flw_hash_x", "MOMO_SUBSCRIPTION_KEY": "momo_sub_x",
           "MOMO_API_USER": "c72025f5-5cd1-4630-99e4-8ba4722fad56", "MOMO_API_KEY": "momo_key_x",
           "MOMO_CALLBACK_SECRET": "momo_cb_x", "MOMO_DISBURSEMENT_API_KEY": "disb_key_x"}


def test_settings_from_env_hide_secrets_and_say_why_disabled():
    settings = gateway_settings_from_env(SECRETS)
    assert all(s.enabled for s in settings.values())
    text = repr(settings) + str({k: s.describe() for k, s in settings.items()})
    for key, secret in SECRETS.items():
        if key != "MOMO_API_USER":
            assert secret not in text, key
    assert not settings["mtn_momo"].refunds_enabled
    empty = gateway_settings_from_env({})
    for name, s in empty.items():
        assert not s.enabled and s.describe()["disabled_reason"], name
    assert empty["mtn_momo"].currencies == frozenset({"EUR"})  # the MoMo sandbox takes EUR only
    custom = gateway_settings_from_env({"PAYSTACK_CURRENCIES": "ngn,kes", "STRIPE_TIMEOUT": "12",
                                        "MOMO_TARGET_ENVIRONMENT": "mtnuganda",
                                        "MOMO_BASE_URL": "https://proxy.momoapi.mtn.com",
                                        "FLUTTERWAVE_ACCEPT_HMAC_SIGNATURE": "true"})
    assert custom["paystack"].currencies == frozenset({"NGN", "KES"})
    assert custom["stripe"].timeouts.total == 12 and custom["flutterwave"].accept_hmac_signature
    assert "UGX" in custom["mtn_momo"].currencies and custom["mtn_momo"].base_url.startswith("https://proxy")


def test_settings_from_env_equal_the_defaults_when_nothing_is_set():
    """Every setting read from an empty environment is the class default (no attrs descriptor leaks)."""
    empty = gateway_settings_from_env({})
    for name, cls in (("stripe", StripeSettings), ("paystack", PaystackSettings),
                      ("flutterwave", FlutterwaveSettings), ("mtn_momo", MomoSettings)):
        assert empty[name] == cls(), name
    custom = gateway_settings_from_env({"FLUTTERWAVE_REFUND_PATH": "/v3/refunds/{id}/x"})["flutterwave"]
    assert (custom.refund_path, custom.refund_list_path) == ("/v3/refunds/{id}/x", "/v3/refunds")


async def test_build_registry_wraps_enabled_gateways(session, clock, metrics):
    env = {k: v for k, v in SECRETS.items() if not k.startswith("FLUTTERWAVE")}
    sandbox = Fake("sandbox")
    reg = build_registry(session, gateway_settings_from_env(env), extra={"sandbox": sandbox},
                         metrics=metrics, clock=clock)
    assert set(reg.names()) == {"stripe", "paystack", "mtn_momo", "sandbox"}
    assert isinstance(reg.get("paystack"), ResilientGateway) and reg.get("sandbox") is sandbox
    assert reg.route("NGN", None) == ["paystack"]  # never failing over into the sandbox
    assert reg.get("stripe").health()["state"] == "closed"
