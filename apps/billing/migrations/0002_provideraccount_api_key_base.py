"""Each stored admin key is bound to the API base it was entered for (the account's base today)."""

from django.db import migrations, models

DEFAULT_BASES = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com"}


def keys_bound(apps, schema_editor):
    ProviderAccount = apps.get_model("billing", "ProviderAccount")
    for account in ProviderAccount.objects.exclude(api_key_encrypted=""):
        account.api_key_base = (account.api_base or DEFAULT_BASES[account.provider]).rstrip("/")
        account.save(update_fields=["api_key_base"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="provideraccount",
            name="api_key_base",
            field=models.URLField(
                blank=True,
                editable=False,
                help_text="The API base the admin key was entered for: it is sent to no other.",
            ),
        ),
        migrations.RunPython(keys_bound, migrations.RunPython.noop),
    ]
