"""The API's one exception handler: domain and model errors become clear 4xx bodies."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import OperationalError

from attribution_site.exceptions import ApplicationError, api_exception_handler


def test_a_model_error_on_fields_names_each_field():
    response = api_exception_handler(ValidationError({"month": ["Use YYYY-MM."]}), {})
    assert (response.status_code, response.data) == (400, {"month": ["Use YYYY-MM."]})


def test_a_model_error_on_no_field_is_a_non_field_error():
    response = api_exception_handler(ValidationError("The rules overlap."), {})
    assert (response.status_code, response.data) == (400, {"non_field_errors": ["The rules overlap."]})


def test_an_application_error_carries_its_status_and_extra_fields():
    error = ApplicationError("Too big.", status=413, extra={"limit": 5})
    response = api_exception_handler(error, {})
    assert (response.status_code, response.data) == (413, {"detail": "Too big.", "limit": 5})


def test_an_unreachable_database_is_a_503_to_retry():
    response = api_exception_handler(OperationalError("connection refused"), {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "nothing was stored" in response.data["detail"]
