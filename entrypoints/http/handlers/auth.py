from __future__ import annotations

from application.errors import Unauthorized
from domain.errors import InvalidValue
from entrypoints.http import presenters as present
from domain.places import Address
from domain.users import KEEP
from entrypoints.http import schemas as s
from entrypoints.http import storefront_presenters as show
from entrypoints.http import storefront_schemas as sf
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.limits import check_rate, client_ip

P = "/api/v1/auth"
routes = RouteTable("auth")
NO_STORE = {"Cache-Control": "no-store"}


@routes.endpoint("POST", f"{P}/register", summary="Create a customer account (an email that has one gets the same "
                 "answer: sign-up never says whether an email is registered)", body=s.RegisterIn,
                 response=s.UserOut, status=201, auth="none", rate_limit="register")
async def register(ctx: Ctx):
    b = ctx.body
    user = await ctx.services.auth.sign_up(b.email, b.password, b.name)
    return json_response(present.user(user), 201)


async def _throttle_login(ctx: Ctx, email: str) -> dict[str, str]:
    """5 a minute per (email, client IP), refused beyond (login_email); across every IP, an email
    past its ceiling (login_email_ceiling) is slowed, never refused: its owner still signs in."""
    services = ctx.services
    ip = client_ip(ctx.request, services.trusted_proxies)
    headers = await check_rate(services, "login_email", f"{email}|ip:{ip}")
    limit, window = services.rate_limits["login_email_ceiling"]
    ceiling = await services.rate_limiter.hit(f"login_email_ceiling:{email}", limit, window)
    if not ceiling.allowed:
        services.metrics.rate_limited.labels("login_email_ceiling").inc()
        await services.edge.sleep(services.edge.login_slowdown)
    return headers


@routes.endpoint("POST", f"{P}/login", summary="Log in: access and refresh tokens (send guest_token, a guest's "
                 "access token, to move that guest's cart and wishlist into yours)", body=s.LoginIn,
                 response=s.TokensOut, auth="none", rate_limit="login_ip")
async def login(ctx: Ctx):
    headers = await _throttle_login(ctx, ctx.body.email.strip().lower())
    guest = None
    if ctx.body.guest_token is not None:  # checked first: a bad guest token logs nobody in
        try:
            guest = await ctx.services.auth.authenticate(ctx.body.guest_token)
        except Unauthorized:
            raise InvalidValue("guest_token is not a valid guest token", field="guest_token") from None
        if not guest.is_guest:
            raise InvalidValue("guest_token is not a guest's token", field="guest_token")
    tokens = await ctx.services.auth.login(ctx.body.email, ctx.body.password)
    if guest is not None:
        user = await ctx.services.auth.authenticate(tokens["access"])
        tokens["cart_merge"] = {"skipped": await ctx.services.cart.merge(guest, user)}
        tokens["wishlist_merge"] = {"skipped": await ctx.services.wishlist.merge(guest, user)}
    return json_response(tokens, headers=headers)


@routes.endpoint("POST", f"{P}/token/refresh", summary="Exchange a refresh token for new tokens",
                 body=s.RefreshIn, response=s.TokensOut, auth="none")
async def refresh(ctx: Ctx):
    return json_response(await ctx.services.auth.refresh(ctx.body.refresh))


@routes.endpoint("GET", f"{P}/me", summary="The current user and their profile", response=sf.ProfileOut)
async def me(ctx: Ctx):
    if ctx.user.is_guest:
        return json_response({"id": ctx.user.id, "email": None, "name": None, "role": "guest", "phone": None,
                              "default_address": None}, headers=NO_STORE)
    return json_response(show.profile(await ctx.services.auth.me(ctx.user)), headers=NO_STORE)


@routes.endpoint("PATCH", f"{P}/me", summary="Change your profile: name, phone (international, +...), default "
                 "address (null clears phone or address)", body=sf.ProfileIn, response=sf.ProfileOut)
async def update_me(ctx: Ctx):
    b, sent = ctx.body, ctx.body.model_fields_set
    if "name" in sent and b.name is None:
        raise InvalidValue("a name cannot be cleared", field="name")
    address = b.default_address
    user = await ctx.services.profiles.update(
        ctx.user, name=b.name if "name" in sent else KEEP, phone=b.phone if "phone" in sent else KEEP,
        default_address=(KEEP if "default_address" not in sent else None if address is None else
                         Address(address.country, address.city, address.line1, address.postal_code)))
    return json_response(show.profile(user), headers=NO_STORE)


@routes.endpoint("POST", f"{P}/change-password", summary="Change your password (the old one is required); the "
                 "refresh tokens of your other sessions stop working, this session gets new tokens",
                 body=sf.ChangePasswordIn, response=s.TokensOut, rate_limit="login_email", idempotency="none")
async def change_password(ctx: Ctx):
    tokens = await ctx.services.auth.change_password(ctx.user, ctx.body.old_password, ctx.body.new_password)
    return json_response(tokens, headers=NO_STORE)


@routes.endpoint("POST", f"{P}/guest", summary="A guest token (check out without an account)",
                 response=s.GuestOut, status=201, auth="none", rate_limit="guest")
async def guest(ctx: Ctx):
    token, guest_id = ctx.services.auth.guest()
    return json_response({"access": token, "guest_id": guest_id}, 201)

