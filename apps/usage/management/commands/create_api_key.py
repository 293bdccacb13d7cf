"""manage.py create_api_key --team TEAM --name NAME [--pin tag=value] [--default tag=value]
[--provider-scope provider=scope] [--created-by USERNAME]."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.org.models import Team
from apps.usage.services import api_key_create


def _tag_pairs(pairs: list[str], option: str) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise CommandError(f"{option} expects tag=value, got {pair!r}.")
        tags[name.strip()] = value.strip()
    return tags


def _scope_pairs(pairs: list[str]) -> dict[str, str]:
    scopes = _tag_pairs(pairs, "--provider-scope")
    if len(scopes) < len(pairs):
        raise CommandError("--provider-scope names one scope per provider; a provider was given twice.")
    return scopes


class Command(BaseCommand):
    help = "Create an API key for a team and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--team", required=True, help="Team slug.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--pin", action="append", default=[], metavar="TAG=VALUE", help="Tag forced on events.")
        parser.add_argument("--default", action="append", default=[], metavar="TAG=VALUE", help="Tag used if absent.")
        parser.add_argument(
            "--provider-scope",
            action="append",
            default=[],
            metavar="PROVIDER=SCOPE",
            help="The workspace or project the key's traffic to PROVIDER bills to; repeat for each provider.",
        )
        parser.add_argument(
            "--created-by",
            metavar="USERNAME",
            help="Who creates the key: one of the team's leads, or a superuser. Shown on the key's admin page.",
        )

    def handle(self, *args, **options):
        try:
            team = Team.objects.get(slug=options["team"])
        except Team.DoesNotExist:
            raise CommandError(f"No team with slug {options['team']!r}.") from None
        created_by = None
        if options["created_by"]:
            try:
                created_by = get_user_model().objects.get(username=options["created_by"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user with username {options['created_by']!r}.") from None
        try:
            _, raw = api_key_create(
                team=team,
                name=options["name"],
                pinned_tags=_tag_pairs(options["pin"], "--pin"),
                default_tags=_tag_pairs(options["default"], "--default"),
                provider_scopes=_scope_pairs(options["provider_scope"]),
                created_by=created_by,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stdout.write(raw)
