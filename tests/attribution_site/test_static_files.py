"""Static files are collected hashed and gzipped, and WhiteNoise serves them compressed and cached for a year."""

from __future__ import annotations

import gzip

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def collected(settings, tmp_path):
    """collectstatic with the configured storage (the session's unhashed override put aside)."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": CONFIGURED}}
    # Only the files this test reads: the admin's and the API docs' add time, not coverage.
    skip = ["datasets", "templates", "widgetbundle.js", "admin", "rest_framework", "drf_spectacular_sidecar"]
    call_command("collectstatic", interactive=False, verbosity=0, ignore_patterns=skip)
    return tmp_path


CONFIGURED = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_the_configured_storage_is_whitenoises_compressed_manifest():
    from attribution_site import settings as configured

    assert configured.STORAGES["staticfiles"]["BACKEND"] == CONFIGURED


def test_plotly_is_served_hashed_gzipped_and_cached_for_a_year(collected):
    url = static("plotly/plotly.min.js")
    assert url.startswith("/static/plotly/plotly.min.") and url != "/static/plotly/plotly.min.js"

    response = Client().get(url, headers={"accept-encoding": "gzip"})

    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    body = b"".join(response.streaming_content)
    assert gzip.decompress(body) == (collected / url.removeprefix("/static/")).read_bytes()


def test_the_pages_name_the_hashed_files(collected, finance, as_user):
    page = as_user(finance).get("/overview/").content.decode()

    assert static("css/site.css") != "/static/css/site.css"
    assert static("css/site.css") in page
    assert static("plotly/plotly.min.js") in page
