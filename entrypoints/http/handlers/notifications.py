from __future__ import annotations

from entrypoints.http import presenters as present
from entrypoints.http import schemas as s
from entrypoints.http.endpoint import Ctx, RouteTable, json_response
from entrypoints.http.queries import NotificationsQuery

P = "/api/v1/notifications"
routes = RouteTable("notifications")


@routes.endpoint("GET", P, summary="Your in-app notifications, newest first",
                 response=s.page_of(s.NotificationOut), query=NotificationsQuery)
async def list_notifications(ctx: Ctx):
    q = ctx.query
    page = await ctx.services.notifications.list(ctx.user, unread_only=q.unread, limit=q.limit, cursor=q.cursor)
    return json_response(present.page(page, present.notification))


@routes.endpoint("POST", P + "/{notification_id}/read", summary="Mark a notification read",
                 response=s.NotificationOut)
async def mark_read(ctx: Ctx):
    note = await ctx.services.notifications.mark_read(ctx.user, ctx.request.match_info["notification_id"])
    return json_response(present.notification(note))
