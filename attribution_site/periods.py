"""The month a page or report shows, the part of it that has happened, and the periods it is compared with."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

# Pages link to the month before the one shown, which must stay a valid date.
FIRST_YEAR = 2000


@dataclass(frozen=True)
class MonthPeriod:
    """A calendar month, cut at today while it is running (month to date)."""

    month_start: date
    today: date

    @classmethod
    def parse(cls, value: str | None, *, today: date | None = None) -> MonthPeriod:
        """`YYYY-MM` up to the running month (or nothing for the running month). Raises ValueError
        for anything else."""
        today = today or timezone.now().date()
        if not value:
            return cls(month_start=today.replace(day=1), today=today)
        year, _, month = value.partition("-")
        if len(year) != 4 or len(month) != 2 or not (year.isdigit() and month.isdigit()) or not 1 <= int(month) <= 12:
            raise ValueError(f"month {value!r} is not a month: use YYYY-MM.")
        start = date(int(year), int(month), 1)
        if start > today:
            raise ValueError(f"{value} has not begun yet.")
        if start.year < FIRST_YEAR:
            raise ValueError(f"{value} is before {FIRST_YEAR}: there is no spend to show.")
        return cls(month_start=start, today=today)

    @property
    def start(self) -> date:
        return self.month_start

    @property
    def month_end(self) -> date:
        return self.month_start.replace(day=calendar.monthrange(self.month_start.year, self.month_start.month)[1])

    @property
    def end(self) -> date:
        """The last day with data to show: the month's last, or today while it is running."""
        return min(self.month_end, self.today)

    @property
    def key(self) -> str:
        return f"{self.month_start:%Y-%m}"

    @property
    def is_running(self) -> bool:
        # Its last day is still running too: that day's spend is not complete.
        return self.month_start <= self.today <= self.month_end

    @property
    def days_elapsed(self) -> int:
        return max((self.end - self.month_start).days + 1, 0)

    @property
    def days_in_month(self) -> int:
        return self.month_end.day

    def previous(self) -> MonthPeriod:
        return MonthPeriod(month_start=(self.month_start - timedelta(days=1)).replace(day=1), today=self.today)

    def next(self) -> MonthPeriod:
        return MonthPeriod(month_start=self.month_end + timedelta(days=1), today=self.today)

    def previous_same_days(self) -> tuple[date, date]:
        """The same days of last month (1st to the day reached here), for a like-for-like change."""
        prev = self.previous()
        return prev.month_start, min(prev.month_start + timedelta(days=self.days_elapsed - 1), prev.month_end)

    def months_back(self, count: int) -> date:
        """First day of the month `count - 1` months before this one (for a `count`-month window)."""
        start = self.month_start
        for _ in range(count - 1):
            start = (start - timedelta(days=1)).replace(day=1)
        return start
