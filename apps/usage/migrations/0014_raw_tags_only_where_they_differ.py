"""raw_tags holds only where the tags sent differ from the stored ones (NULL for most events).
Events stored before keep the whole object, which apps.org.tags.raw_tags_sent reads as it is.
On PostgreSQL this is a catalog change (DROP NOT NULL): no row is rewritten."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("usage", "0013_archived_month")]

    operations = [
        migrations.AlterField(
            model_name="usageevent",
            name="raw_tags",
            field=models.JSONField(
                default=None,
                help_text="Where the tags the event sent differ from the stored ones: [tag, value sent] pairs "
                "(apps.org.tags.raw_tags_stored); empty for most events. `tags_sent` gives the tags as sent.",
                null=True,
            ),
        ),
    ]
