"""One API exception handler: domain errors become clear 4xx bodies, never a 500; an unreachable
database a 503 the client retries."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

DATABASE_RETRY_AFTER_SECONDS = 5


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
    if isinstance(exc, OperationalError | InterfaceError):
        # Nothing was stored (ingestion writes in one transaction): the same request can be sent again.
        detail = "The database is unreachable; nothing was stored. Retry shortly."
        return Response({"detail": detail}, status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError) and not isinstance(response.data, dict):
        response.data = {"detail": response.data}
    return response
