"""The billing admin: every list opens, and an account's admin key is entered write-only and stored encrypted."""

from __future__ import annotations

import pytest

from apps.billing.models import ProviderAccount, ScopeMapping
from tests.factories import ProductFactory

PAGES = [
    "/admin/billing/provideraccount/",
    "/admin/billing/provideraccount/add/",
    "/admin/billing/scopemapping/",
    "/admin/billing/billingimport/",
    "/admin/billing/billingimport/upload/",
    "/admin/billing/billingline/",
    "/admin/billing/providerreport/",
    "/admin/billing/reconciliation/",
    "/admin/billing/reconciliationsettings/",
]


@pytest.mark.parametrize("url", PAGES)
def test_each_billing_admin_page_opens(client, admin_user, url):
    client.force_login(admin_user)

    assert client.get(url).status_code == 200


def test_an_account_added_in_the_admin_keeps_its_key_encrypted_and_never_shows_it(client, admin_user):
    client.force_login(admin_user)
    form = {"provider": "openai", "name": "main", "new_api_key": "sk-admin-secret", "api_base": "", "is_active": "on"}

    assert client.post("/admin/billing/provideraccount/add/", form).status_code == 302

    account = ProviderAccount.objects.get()
    assert account.api_key == "sk-admin-secret" and "sk-admin-secret" not in account.api_key_encrypted
    page = client.get(f"/admin/billing/provideraccount/{account.pk}/change/").content.decode()
    assert "sk-admin-secret" not in page and account.api_key_encrypted not in page


def test_a_mapping_to_another_teams_product_is_refused_naming_the_product(client, admin_user, team, other_team):
    client.force_login(admin_user)
    product = ProductFactory(team=other_team, slug="invoices")
    form = {"provider": "openai", "scope": "proj_a", "team": team.pk, "product": product.pk}

    response = client.post("/admin/billing/scopemapping/add/", form)

    assert response.status_code == 200
    assert "&#x27;invoices&#x27; is a product of another team." in response.content.decode()
    assert not ScopeMapping.objects.exists()


def _change(client, account, **fields):
    form = {"provider": account.provider, "name": account.name, "new_api_key": "", "is_active": "on", **fields}
    return client.post(f"/admin/billing/provideraccount/{account.pk}/change/", form)


def test_changing_only_the_api_base_asks_for_the_key_again_and_keeps_the_old_base(
    client, admin_user, anthropic_account
):
    client.force_login(admin_user)

    response = _change(client, anthropic_account, api_base="https://collector.example.net")

    assert response.status_code == 200
    assert "Enter the admin key again for https://collector.example.net" in response.content.decode()
    anthropic_account.refresh_from_db()
    assert (
        anthropic_account.api_key == "sk-ant-admin-test"
        and anthropic_account.api_base != "https://collector.example.net"
    )


def test_a_new_api_base_with_the_key_entered_again_is_saved(client, admin_user, anthropic_account):
    client.force_login(admin_user)

    response = _change(client, anthropic_account, api_base="https://collector.example.net", new_api_key="sk-ant-new")

    assert response.status_code == 302
    anthropic_account.refresh_from_db()
    assert (anthropic_account.base_url, anthropic_account.api_key) == ("https://collector.example.net", "sk-ant-new")


def test_other_edits_keep_the_stored_key(client, admin_user, anthropic_account):
    client.force_login(admin_user)

    assert _change(client, anthropic_account, api_base=anthropic_account.api_base, name="renamed").status_code == 302

    anthropic_account.refresh_from_db()
    assert (anthropic_account.name, anthropic_account.api_key) == ("renamed", "sk-ant-admin-test")
