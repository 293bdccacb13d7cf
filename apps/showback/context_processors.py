"""Navigation for every page: the teams a person may open, and whether they see the overview."""

from django.utils.functional import SimpleLazyObject

from apps.org.selectors import teams_visible_to, user_sees_all_teams


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "teams": SimpleLazyObject(lambda: list(teams_visible_to(user))),
        "can_see_all": SimpleLazyObject(lambda: user_sees_all_teams(user)),
    }
