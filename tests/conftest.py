"""Fixtures shared by every test: fixed users, API clients, fresh caches."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test.utils import override_settings
from rest_framework.test import APIClient

from apps.org.models import TeamMembership
from apps.org.selectors import FINANCE_GROUP
from attribution_site import snapshots
from attribution_site.celery import app as celery_app

from .factories import ApiKeyFactory, ModelPriceFactory, TeamFactory, TeamMembershipFactory, UserFactory
from .webhook_receiver import receiver  # noqa: F401  (a fixture for every test)


@pytest.fixture(autouse=True, scope="session")
def static_files_unhashed():
    """Pages name their static files unhashed, found where they lie: the hashed, compressed copies
    need a collectstatic first (tests/attribution_site/test_static_files.py runs one)."""
    unhashed = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    with override_settings(STORAGES={**settings.STORAGES, "staticfiles": unhashed}):
        yield


@pytest.fixture(autouse=True)
def fresh_snapshots():
    """Each test builds the registry, price and key snapshots from its own rows."""
    snapshots.invalidate_all()
    yield
    snapshots.invalidate_all()


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hashing test users' passwords with PBKDF2 costs a tenth of a second each."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def eager_celery(request):
    """Unit tests run tasks in-process; tests using the real worker fixture send them to Redis."""
    celery_app.conf.task_always_eager = "celery_worker_process" not in request.fixturenames
    yield
    celery_app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def reads_unthrottled(request, settings):
    """Ids repeat from test to test, so throttle counts would carry over: reads are unthrottled
    except in tests that ask for the `read_rate` fixture."""
    if "read_rate" not in request.fixturenames:
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"reads": None}}


@pytest.fixture
def team(db):
    return TeamFactory(slug="search", name="Search")


@pytest.fixture
def other_team(db):
    return TeamFactory(slug="billing", name="Billing")


@pytest.fixture
def lead(team):
    return TeamMembershipFactory(team=team, user=UserFactory(username="lead"), role=TeamMembership.Role.LEAD).user


@pytest.fixture
def member(team):
    return TeamMembershipFactory(team=team, user=UserFactory(username="member")).user


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def finance(db):
    user = UserFactory(username="finance")
    user.groups.add(Group.objects.get_or_create(name=FINANCE_GROUP)[0])
    return user


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def api_key(team):
    return ApiKeyFactory(team=team, name="search-service")


@pytest.fixture
def key_client(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.raw_key}")
    return client


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def price(db):
    """anthropic/test-model: $3 in, $15 out, $0.30 cache read, $3.75 / $6 cache writes per million."""
    return ModelPriceFactory()


@pytest.fixture
def as_user(client):
    """The test client, logged in as the given user."""

    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client
