"""ISO weeks: the unit of every KPI, report and agenda."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week (Monday to Sunday); orders by year, then week."""

    year: int
    week: int

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999 or not 1 <= self.week <= weeks_in_year(self.year):
            raise ValueError(f"no ISO week {self.week} in {self.year}")

    @classmethod
    def from_date(cls, day: date) -> IsoWeek:
        """The ISO week that contains ``day``."""
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def label(self) -> str:
        """The week as ``2026-W45``."""
        return f"{self.year:04d}-W{self.week:02d}"

    def monday(self) -> date:
        """The first day of the week."""
        return date.fromisocalendar(self.year, self.week, 1)

    def shifted(self, weeks: int) -> IsoWeek:
        """The week ``weeks`` later (earlier when negative)."""
        return IsoWeek.from_date(self.monday() + timedelta(weeks=weeks))

    def previous(self) -> IsoWeek:
        """The week before."""
        return self.shifted(-1)

    def __str__(self) -> str:
        return self.label


def weeks_in_year(year: int) -> int:
    """52 or 53: the number of ISO weeks in ``year``."""
    # 28 December is always in the last ISO week of its year.
    return date(year, 12, 28).isocalendar().week


def week_bounds(week: IsoWeek, timezone: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 in ``timezone``, as UTC instants."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(week.monday(), time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(week.shifted(1).monday(), time(0), tzinfo=zone).astimezone(UTC)
    return start, end
