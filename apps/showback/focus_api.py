"""GET /api/v1/focus.csv: a month as FOCUS 1.2, streamed, for finance and staff."""

from __future__ import annotations

import csv
from datetime import date

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apps.billing.apis import IsFinanceOrStaff, MonthSerializer
from attribution_site.api_schema import error_responses

from .focus import focus_rows


class _Echo:
    """A file-like object whose write hands the line back, for csv.writer over a stream."""

    def write(self, value: str) -> str:
        return value


def focus_csv_lines(*, month_start: date):
    writer = csv.writer(_Echo())
    return (writer.writerow(row) for row in focus_rows(month_start=month_start))


class FocusExportApi(APIView):
    permission_classes = [IsFinanceOrStaff]

    @extend_schema(
        operation_id="focus_export",
        parameters=[MonthSerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR, **error_responses(400, 401, 403)},
    )
    def get(self, request):
        params = MonthSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        start, _ = params.month_range()
        response = StreamingHttpResponse(focus_csv_lines(month_start=start), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="focus-{params.validated_data["month"]}.csv"'
        return response
