"""One API exception handler: domain errors become clear 4xx bodies, never a 500."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """An error a client caused and can fix; `status` says which 4xx it maps to."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        if status is not None:
            self.status = status


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, **exc.extra}, status=exc.status)
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError) and not isinstance(response.data, dict):
        response.data = {"detail": response.data}
    return response
