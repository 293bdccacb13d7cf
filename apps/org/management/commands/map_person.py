"""manage.py map_person EMAIL --team SLUG [--name NAME]: the team a person's spend shows under."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.org.models import Team
from apps.org.people import person_map


class Command(BaseCommand):
    help = "Map a person (an email or the provider's user id, as events name them) to a team."

    def add_arguments(self, parser):
        parser.add_argument("identifier", metavar="EMAIL", help="An email, or the provider's user id.")
        parser.add_argument("--team", required=True, help="Team slug; 'none' returns them to their login's team.")
        parser.add_argument("--name", help="The display name shown on the pages.")

    def handle(self, *args, **options):
        team = None
        if options["team"] != "none":
            try:
                team = Team.objects.get(slug=options["team"])
            except Team.DoesNotExist:
                raise CommandError(f"No team with slug {options['team']!r}.") from None
        if not options["identifier"].strip():
            raise CommandError("Give the person's email or provider user id.")
        try:
            person = person_map(identifier=options["identifier"], team=team, display_name=options["name"])
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stdout.write(f"{person.identifier} → {team.slug if team else 'their login’s team'}")
