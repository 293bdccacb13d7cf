"""Checks every read API makes of its query string, beyond what its serializer checks."""

from __future__ import annotations

from rest_framework import serializers


def query_params_check(request, params: serializers.Serializer, *, known: str) -> None:
    """Refuse a parameter the API does not know (a misspelt filter would otherwise answer for the
    whole organisation) and a known one sent empty (DRF reads `?team=` as absent: all teams)."""
    unknown = sorted(set(request.query_params) - set(params.fields) - {"format"})
    if unknown:
        raise serializers.ValidationError({name: [f"Unknown parameter. Use {known}."] for name in unknown})
    blank = sorted(name for name in params.fields if request.query_params.get(name) == "")
    if blank:
        raise serializers.ValidationError({name: ["May not be blank: leave it out instead."] for name in blank})
