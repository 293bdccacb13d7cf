"""`{% month_status period %}`: the month's status line every page of a month shows."""

from __future__ import annotations

from django import template

from apps.closing.selectors import month_status as month_status_of
from apps.org.selectors import user_sees_all_teams

register = template.Library()


@register.inclusion_tag("showback/_month_status.html", takes_context=True)
def month_status(context, period):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "status": month_status_of(period.month_start),
        "period": period,
        "can_close": bool(user and user.is_authenticated and user_sees_all_teams(user)),
    }
