from __future__ import annotations

from application.errors import Unauthorized
from domain.errors import InvalidValue
from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.limits import check_rate

P = "/api/v1/auth"
routes = RouteTable("auth")


@routes.endpoint("POST", f"{P}/register", summary="Create a customer account", body=s.RegisterIn,
                 response=s.UserOut, status=201, auth="none", rate_limit="register")
async def register(ctx: Ctx):
    b = ctx.body
    user = await ctx.services.auth.register(b.email, b.password, b.name)
    return json_response(present.user(user), 201)


@routes.endpoint("POST", f"{P}/login", summary="Log in: access and refresh tokens (send guest_token, a guest's "
                 "access token, to move that guest's cart into yours)", body=s.LoginIn,
                 response=s.TokensOut, auth="none", rate_limit="login_ip")
async def login(ctx: Ctx):
    headers = await check_rate(ctx.services, "login_email", ctx.body.email.strip().lower())
    guest = None
    if ctx.body.guest_token is not None:  # checked first: a bad guest token logs nobody in
        try:
            guest = ctx.services.auth.principal_from_token(ctx.body.guest_token)
        except Unauthorized:
            raise InvalidValue("guest_token is not a valid guest token", field="guest_token") from None
        if not guest.is_guest:
            raise InvalidValue("guest_token is not a guest's token", field="guest_token")
    tokens = await ctx.services.auth.login(ctx.body.email, ctx.body.password)
    if guest is not None:
        user = ctx.services.auth.principal_from_token(tokens["access"])
        tokens["cart_merge"] = {"skipped": await ctx.services.cart.merge(guest, user)}
    return json_response(tokens, headers=headers)


@routes.endpoint("POST", f"{P}/token/refresh", summary="Exchange a refresh token for new tokens",
                 body=s.RefreshIn, response=s.TokensOut, auth="none")
async def refresh(ctx: Ctx):
    return json_response(await ctx.services.auth.refresh(ctx.body.refresh))


@routes.endpoint("GET", f"{P}/me", summary="The current user", response=s.UserOut)
async def me(ctx: Ctx):
    if ctx.user.is_guest:
        return json_response({"id": ctx.user.id, "email": None, "name": None, "role": "guest"})
    return json_response(present.user(await ctx.services.auth.me(ctx.user)))


@routes.endpoint("POST", f"{P}/guest", summary="A guest token (check out without an account)",
                 response=s.GuestOut, status=201, auth="none", rate_limit="guest")
async def guest(ctx: Ctx):
    token, guest_id = ctx.services.auth.guest()
    return json_response({"access": token, "guest_id": guest_id}, 201)

