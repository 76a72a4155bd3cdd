"""A digest subscription's schedule: a crontab line (minute hour day month weekday) in
POLDER_TIMEZONE, read into an APScheduler trigger, with errors that say which field is wrong.

APScheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0 (1 is Monday, 7 is
Sunday again): the weekday field is read here the crontab way and handed over as day names.
A sixth field in front is seconds, for schedules finer than a minute (the tests use it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.i18n import N_

DEFAULT_CRON = "0 8 * * 1"  # Mondays at 08:00
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (APScheduler's name, the field as people say it, what it takes), in crontab order.
FIELDS = (
    ("minute", N_("minute"), "0-59"),
    ("hour", N_("hour"), "0-23"),
    ("day", N_("day of the month"), "1-31"),
    ("month", N_("month"), N_("1-12 or jan-dec")),
    ("day_of_week", N_("day of the week"), N_("0-7 or sun-sat (0 and 7 are Sunday)")),
)
SECOND = ("second", N_("second"), "0-59")

WRONG_COUNT = N_(
    "A schedule has five fields: minute, hour, day of the month, month and day of the week, "
    "such as 0 8 * * 1 for Mondays at 08:00. {cron} has {count}."
)
BAD_FIELD = N_(
    "In the schedule {cron}, the {field} {value} is not valid: use {allowed}, a list (1,3), "
    "a range (1-5), a step (*/2) or *."
)
NEVER = N_("The schedule {cron} never comes round (like 30 February).")


class CronError(ValueError):
    """A schedule that cannot be read. `message` is an English msgid with placeholders, so
    a chat can say it in the member's language; `params` fill them (`field` and `allowed`
    are msgids too)."""

    def __init__(self, message: str, **params: str) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def say(self, translate: Callable[[str], str] = str) -> str:
        """The message, translated by `translate` (a member's gettext) when given."""
        _ = translate
        params = {k: _(v) if k in ("field", "allowed") else v for k, v in self.params.items()}
        return _(self.message).format(**params)

    def __str__(self) -> str:
        return self.say()


def normal(cron: str) -> str:
    """The schedule as stored and shown: fields separated by single spaces."""
    return " ".join(cron.split())


def read_cron(cron: str, zone: ZoneInfo) -> CronTrigger:
    """The trigger for `cron` in `zone`, or a CronError that names the wrong field."""
    cron = normal(cron)
    values = cron.split(" ") if cron else []
    fields = FIELDS if len(values) == 5 else (SECOND, *FIELDS)
    if len(values) not in (5, 6):
        raise CronError(WRONG_COUNT, cron=cron or '""', count=str(len(values)))
    spec: dict[str, str] = {}
    for (name, label, allowed), value in zip(fields, values, strict=True):
        try:
            spec[name] = weekdays(value) if name == "day_of_week" else value
            CronTrigger(**{name: spec[name]}, timezone=zone)
        except ValueError:
            raise CronError(
                BAD_FIELD, cron=cron, field=label, value=value, allowed=allowed
            ) from None
    try:
        trigger = CronTrigger(**spec, timezone=zone)
    except ValueError:  # the fields are fine one by one; together they still may not be
        raise CronError(NEVER, cron=cron) from None
    if trigger.get_next_fire_time(None, datetime.now(zone)) is None:
        raise CronError(NEVER, cron=cron)
    return trigger


def weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler day names: '1-5' -> 'mon,tue,wed,thu,fri'."""
    chosen: set[int] = set()
    for item in field.lower().split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() else (0 if step_text else 1)
        if step < 1:
            raise ValueError(f"bad step in {item!r}")
        if span == "*":
            first, last = 0, 6
        else:
            low, dash, high = span.partition("-")
            first = day_number(low)
            last = day_number(high) if dash else (6 if step_text else first)
        if last == 0 and first > 0:
            last = 7  # 'fri-sun': Sunday as 7 ends a range
        if first > last:
            raise ValueError(f"backwards range {item!r}")
        chosen.update(day % 7 for day in range(first, last + 1, step))
    if len(chosen) == 7:
        return "*"
    return ",".join(DAYS[day] for day in sorted(chosen, key=lambda day: (day + 6) % 7))


def day_number(text: str) -> int:
    """0-7 (0 and 7 Sunday) or a day's English abbreviation."""
    if text in DAYS:
        return DAYS.index(text)
    if text.isdigit() and int(text) <= 7:
        return int(text)
    raise ValueError(f"not a day of the week: {text!r}")


def next_time(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first time at or after `after` that the schedule names."""
    return trigger.get_next_fire_time(None, after)
