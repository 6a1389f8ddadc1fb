from __future__ import annotations

from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.params import limit_and_cursor

P = "/api/v1/notifications"
routes = RouteTable("notifications")


@routes.endpoint("GET", P, summary="Your in-app notifications, newest first",
                 response=s.page_of(s.NotificationOut), query=(("limit", "1..100"), ("cursor", "from next_cursor"),
                 ("unread", "true for unread only")))
async def list_notifications(ctx: Ctx):
    limit, cursor = limit_and_cursor(ctx.request)
    unread = ctx.request.query.get("unread", "").lower() in ("1", "true", "yes")
    page = await ctx.services.notifications.list(ctx.user, unread_only=unread, limit=limit, cursor=cursor)
    return json_response(present.page(page, present.notification))


@routes.endpoint("POST", P + "/{notification_id}/read", summary="Mark a notification read",
                 response=s.NotificationOut)
async def mark_read(ctx: Ctx):
    note = await ctx.services.notifications.mark_read(ctx.user, ctx.request.match_info["notification_id"])
    return json_response(present.notification(note))
