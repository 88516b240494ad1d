"""``/meeting`` text into a typed command or a usage message (bot/meeting_input.py)."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.meetings.parse import (
    DEFAULT_REMIND,
    DEFAULT_TITLE,
    MAX_TITLE_LENGTH,
    USAGE,
    AddMeeting,
    ListMeetings,
    MeetingAction,
    MeetingCommand,
    MeetingHelp,
    parse_duration,
    parse_meeting_command,
)
from domain.parsing import ChannelRef, UsageError, parse_channel, parse_day_list, parse_time

# A Thursday, so `weekly` means Thursday unless a test says otherwise.
THURSDAY = date(2026, 3, 5)
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)
COMMAND_TYPES = (AddMeeting, MeetingAction, ListMeetings, MeetingHelp, UsageError)
DAY_ALIASES: dict[int, tuple[str, ...]] = {
    MON: ("mon", "monday"),
    TUE: ("tue", "tues", "tuesday"),
    WED: ("wed", "weds", "wednesday"),
    THU: ("thu", "thur", "thurs", "thursday"),
    FRI: ("fri", "friday"),
    SAT: ("sat", "saturday"),
    SUN: ("sun", "sunday"),
}


def parse(text: str, *, today: date = THURSDAY) -> MeetingCommand | UsageError:
    """``/meeting`` text parsed on ``today`` (a Thursday by default)."""
    return parse_meeting_command(text, today=today)


def added(text: str, *, today: date = THURSDAY) -> AddMeeting:
    """``text``, which the test expects to be a valid ``/meeting add``."""
    result = parse(text, today=today)
    assert isinstance(result, AddMeeting), result
    return result


def usage_error(text: str, *, today: date = THURSDAY) -> UsageError:
    """``text``, which the test expects to be refused with a usage message."""
    result = parse(text, today=today)
    assert isinstance(result, UsageError), result
    return result


def slack_escape(text: str) -> str:
    """What Slack does to ``&``, ``<`` and ``>`` before it sends command text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- /meeting add: the whole command ----------------------------------------------------


def test_the_documented_example_parses_into_every_field() -> None:
    assert parse("add mon,thu 10:00 #sales-marketing Pipeline and lead quality sync") == AddMeeting(
        weekdays=frozenset({MON, THU}),
        every_weeks=1,
        local_time=time(10, 0),
        channel=ChannelRef(name="sales-marketing"),
        title="Pipeline and lead quality sync",
        remind=DEFAULT_REMIND,
    )


def test_days_and_time_alone_give_no_channel_the_default_title_and_15_minutes() -> None:
    meeting = added("add mon 10:00")

    assert meeting.channel is None
    assert meeting.title == DEFAULT_TITLE
    assert meeting.remind == timedelta(minutes=15)


def test_verb_days_and_time_are_case_insensitive() -> None:
    meeting = added("ADD Mon,THU 2PM")

    assert meeting.weekdays == frozenset({MON, THU})
    assert meeting.local_time == time(14, 0)


def test_title_keeps_its_case_and_joins_words_with_single_spaces() -> None:
    assert added("add mon 10:00   Q3   Pipeline  Review").title == "Q3 Pipeline Review"


def test_a_hash_later_in_the_title_is_not_taken_for_a_channel() -> None:
    meeting = added("add mon 10:00 Lead review #2")

    assert meeting.channel is None
    assert meeting.title == "Lead review #2"


def test_slack_escaped_ampersand_in_the_title_is_unescaped() -> None:
    assert added("add mon 10:00 Sales &amp; marketing").title == "Sales & marketing"


def test_a_title_of_exactly_the_maximum_length_is_accepted() -> None:
    title = "x" * MAX_TITLE_LENGTH

    assert added(f"add mon 10:00 {title}").title == title


# --- days ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "weekdays"),
    [
        ("mon", {MON}),
        ("monday", {MON}),
        ("tues", {TUE}),
        ("weds", {WED}),
        ("thurs", {THU}),
        ("sunday", {SUN}),
        ("mon,thu", {MON, THU}),
        ("thu,mon,thu", {MON, THU}),
        ("mon-fri", {MON, TUE, WED, THU, FRI}),
        ("mon-mon", {MON}),
        ("fri-mon", {FRI, SAT, SUN, MON}),
        ("sun-tue", {SUN, MON, TUE}),
        ("mon,wed-fri", {MON, WED, THU, FRI}),
        ("daily", set(range(7))),
        ("weekdays", {MON, TUE, WED, THU, FRI}),
        ("workdays", {MON, TUE, WED, THU, FRI}),
        ("DAILY", set(range(7))),
    ],
)
def test_each_day_form_gives_its_weekdays_every_week(days: str, weekdays: set[int]) -> None:
    meeting = added(f"add {days} 10:00")

    assert meeting.weekdays == frozenset(weekdays)
    assert meeting.every_weeks == 1


@pytest.mark.parametrize(
    ("today", "weekday"),
    [(date(2026, 3, 2), MON), (THURSDAY, THU), (date(2026, 3, 8), SUN)],
)
def test_weekly_means_todays_weekday(today: date, weekday: int) -> None:
    meeting = added("add weekly 10:00", today=today)

    assert meeting.weekdays == frozenset({weekday})
    assert meeting.every_weeks == 1


@pytest.mark.parametrize("word", ["biweekly", "fortnightly", "Biweekly"])
def test_biweekly_day_meets_every_second_week_on_that_day(word: str) -> None:
    meeting = added(f"add {word} tue 09:30 Pipeline")

    assert meeting.weekdays == frozenset({TUE})
    assert meeting.every_weeks == 2
    assert meeting.local_time == time(9, 30)
    assert meeting.title == "Pipeline"


@pytest.mark.parametrize(
    ("text", "weekdays"),
    [
        ("mon,thu", {MON, THU}),
        ("fri-mon", {FRI, SAT, SUN, MON}),
        ("WED", {WED}),
        ("mon,tue-wed,sun", {MON, TUE, WED, SUN}),
    ],
)
def test_parse_day_list_accepts_lists_and_ranges(text: str, weekdays: set[int]) -> None:
    assert parse_day_list(text) == frozenset(weekdays)


@pytest.mark.parametrize(
    "text", ["", "funday", "mon,", ",mon", "mon,,thu", "mon-", "-fri", "mon-tue-wed", "mo"]
)
def test_parse_day_list_refuses_anything_else(text: str) -> None:
    assert parse_day_list(text) is None


# --- times ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:00", time(10, 0)),
        ("9:30", time(9, 30)),
        ("09:30", time(9, 30)),
        ("14:05", time(14, 5)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("2pm", time(14, 0)),
        ("2:30pm", time(14, 30)),
        ("2:30 pm", time(14, 30)),
        ("2PM", time(14, 0)),
        ("9am", time(9, 0)),
        ("12am", time(0, 0)),
        ("12:15am", time(0, 15)),
        ("12pm", time(12, 0)),
        ("12:45pm", time(12, 45)),
        (" 10:00 ", time(10, 0)),
    ],
)
def test_parse_time_accepts_24_hour_and_am_pm_times(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "10",  # ambiguous: morning or evening?
        "25:00",
        "24:00",
        "10:60",
        "9:5",
        "0am",
        "13pm",
        "0:30pm",
        "10:000",
        "100:00",
        "ten",
        "",
        "10.00",
        "１０:００",  # fullwidth digits
    ],
)
def test_parse_time_refuses_what_is_not_a_time_of_day(text: str) -> None:
    assert parse_time(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("add mon 9:30", time(9, 30)), ("add mon 2pm", time(14, 0)), ("add mon 2:30pm", time(14, 30))],
)
def test_add_takes_the_time_after_the_days(text: str, expected: time) -> None:
    assert added(text).local_time == expected


# --- channels ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "channel"),
    [
        ("<#C0123|sales-marketing>", ChannelRef(channel_id="C0123", name="sales-marketing")),
        ("<#C0123>", ChannelRef(channel_id="C0123")),
        ("<#C0123|>", ChannelRef(channel_id="C0123")),
        ("<#G0456|private-team>", ChannelRef(channel_id="G0456", name="private-team")),
        ("#sales-marketing", ChannelRef(name="sales-marketing")),
        ("#Sales-Marketing", ChannelRef(name="sales-marketing")),
        ("#team_2.0", ChannelRef(name="team_2.0")),
    ],
)
def test_parse_channel_accepts_mentions_and_plain_names(text: str, channel: ChannelRef) -> None:
    assert parse_channel(text) == channel


@pytest.mark.parametrize(
    "text", ["#", "#-sales", "#sales!", "sales", "<#D0123|dm>", "<#c0123>", "<@U0123>"]
)
def test_parse_channel_refuses_what_is_not_a_channel(text: str) -> None:
    assert parse_channel(text) is None


def test_slacks_escaped_channel_mention_becomes_the_channel_id() -> None:
    meeting = added("add mon,thu 10:00 <#C0123|sales-marketing> Pipeline sync")

    assert meeting.channel == ChannelRef(channel_id="C0123", name="sales-marketing")
    assert meeting.title == "Pipeline sync"


def test_a_channel_mention_html_escaped_by_slack_is_still_recognised() -> None:
    meeting = added(slack_escape("add mon 10:00 <#C0123|sales> Sync"))

    assert meeting.channel == ChannelRef(channel_id="C0123", name="sales")


def test_a_channel_with_no_title_after_it_gets_the_default_title() -> None:
    meeting = added("add daily 9am #standup")

    assert meeting.channel == ChannelRef(name="standup")
    assert meeting.title == DEFAULT_TITLE


# --- --remind ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "lead"),
    [
        ("--remind 30m", timedelta(minutes=30)),
        ("--remind=30m", timedelta(minutes=30)),
        ("--remind 1h", timedelta(hours=1)),
        ("--remind 1h30m", timedelta(hours=1, minutes=30)),
        ("--remind 45min", timedelta(minutes=45)),
        ("--remind 0m", timedelta(0)),
        ("--remind 90", timedelta(minutes=90)),
        ("--remind 24h", timedelta(hours=24)),
        ("--remind 1440", timedelta(hours=24)),
        ("--REMIND 2H", timedelta(hours=2)),
    ],
)
def test_remind_flag_sets_the_lead_time(flag: str, lead: timedelta) -> None:
    assert added(f"add mon 10:00 Sync {flag}").remind == lead


@pytest.mark.parametrize(
    "text",
    [
        "add --remind 30m mon 10:00 Pipeline sync",
        "add mon --remind=30m 10:00 Pipeline sync",
        "add mon 10:00 --remind 30m Pipeline sync",
        "add mon 10:00 Pipeline --remind 30m sync",
        "add mon 10:00 Pipeline sync --remind 30m",
    ],
)
def test_remind_flag_can_go_anywhere_and_is_not_part_of_the_title(text: str) -> None:
    meeting = added(text)

    assert meeting.weekdays == frozenset({MON})
    assert meeting.local_time == time(10, 0)
    assert meeting.title == "Pipeline sync"
    assert meeting.remind == timedelta(minutes=30)


def test_remind_flag_before_the_channel_leaves_the_channel_recognised() -> None:
    meeting = added("add mon 10:00 --remind 1h #sales Sync")

    assert meeting.channel == ChannelRef(name="sales")
    assert meeting.remind == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("45min", timedelta(minutes=45)),
        ("0m", timedelta(0)),
        ("15", timedelta(minutes=15)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_parse_duration_accepts_hours_and_minutes(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2d", "1h30", "m", "h", "30s", "-5m", "1.5h", "30 m"])
def test_parse_duration_refuses_other_units_and_shapes(text: str) -> None:
    assert parse_duration(text) is None


@pytest.mark.parametrize("text", ["١h", "٣٠m", "１５m"])
def test_parse_duration_refuses_non_ascii_digits_like_parse_time_does(text: str) -> None:
    assert parse_duration(text) is None


# --- rejections: each says what was wrong, then how to write it ---------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("add", "Which days? Start with the days"),
        ("add --remind 30m", "Which days?"),
        ("add funday 10:00", "`funday` is not a list of days."),
        ("add mon,funday 10:00", "`mon,funday` is not a list of days."),
        ("add 10:00 mon", "`10:00` is not a list of days."),
        ("add biweekly", "Which day? Write `biweekly <day>`"),
        ("add biweekly mon,thu 10:00", "Which day? Write `biweekly <day>`"),
        ("add biweekly 10:00", "Which day? Write `biweekly <day>`"),
        ("add mon", "What time? Add it after the days"),
        ("add biweekly tue", "What time?"),
        ("add mon 25:00", "`25:00` is not a time."),
        ("add mon 10:60", "`10:60` is not a time."),
        ("add mon 10", "`10` is not a time."),
        ("add mon 13pm", "`13pm` is not a time."),
        ("add mon noon", "`noon` is not a time."),
        ("add mon 10:00 #Sales!", "`#Sales!` is not a channel I can use."),
        ("add mon 10:00 <#D0123|dm>", "`<#D0123|dm>` is not a channel I can use."),
        ("add mon 10:00 --remind 2d", "`--remind 2d` is not a lead time I can use."),
        ("add mon 10:00 --remind=2d", "`--remind 2d` is not a lead time I can use."),
        ("add mon 10:00 --remind 25h", "`--remind 25h` is not a lead time I can use."),
        ("add mon 10:00 --remind 24h1m", "`--remind 24h1m` is not a lead time I can use."),
        ("add mon 10:00 --remind 1441", "`--remind 1441` is not a lead time I can use."),
        ("add mon 10:00 --remind", "`--remind ` is not a lead time I can use."),
        ("add mon 10:00 " + "x" * (MAX_TITLE_LENGTH + 1), "The title is too long"),
        ("add mon 10:00 Sync\x07call", "The title contains control characters."),
        ("add mon 10:00 Sync\u200bcall", "The title contains control characters."),
        ("remove", "Which meeting? Write `/meeting remove <id>`"),
        ("skip abc", "Which meeting? Write `/meeting skip <id>`"),
        ("pause 1 2", "Which meeting? Write `/meeting pause <id>`"),
        ("resume #", "Which meeting? Write `/meeting resume <id>`"),
        ("remove -3", "Which meeting?"),
        ("remove 1234567890", "Which meeting?"),
        ("reschedule 4", "I don't know `/meeting reschedule`."),
        ("Frobnicate", "I don't know `/meeting Frobnicate`."),
        ("mon 10:00", "I don't know `/meeting mon`."),
    ],
)
def test_bad_input_says_what_was_wrong_and_shows_the_usage(text: str, problem: str) -> None:
    error = usage_error(text)

    assert error.problem.startswith(problem)
    assert error.message.startswith(error.problem)
    assert error.message.endswith(USAGE)


def test_unknown_verb_is_shown_without_backticks_or_control_characters() -> None:
    assert usage_error("ad`d\x07").problem == "I don't know `/meeting ad?d?`."


def test_a_long_unknown_verb_is_shortened_in_the_message() -> None:
    error = usage_error("x" * 100)

    assert f"`/meeting {'x' * 30}…`" in error.problem


def test_a_bad_remind_is_reported_even_when_the_rest_is_fine() -> None:
    assert usage_error("add mon,thu 10:00 #sales Sync --remind 2d").problem.startswith(
        "`--remind 2d`"
    )


def test_a_bad_remind_is_not_silently_replaced_by_a_later_good_one() -> None:
    assert usage_error("add mon 10:00 --remind 2d --remind 30m").problem.startswith("`--remind 2d`")


@pytest.mark.parametrize(
    "digits",
    [
        pytest.param("9" * 13, id="13-digits-timedelta-overflow"),
        pytest.param("9" * 20, id="20-digits-c-int-overflow"),
        pytest.param("9" * 5000, id="5000-digits-int-conversion-limit"),
    ],
)
def test_a_huge_bare_remind_number_is_refused_not_a_crash(digits: str) -> None:
    assert usage_error(f"add mon 10:00 --remind {digits}").problem.startswith("`--remind ")


# --- help, list and the id verbs -----------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "-h", "--help", "?", "help add"])
def test_help_or_nothing_asks_for_help(text: str) -> None:
    assert parse(text) == MeetingHelp()


@pytest.mark.parametrize("text", ["list", "LIST", " list "])
def test_list_lists_the_meetings(text: str) -> None:
    assert parse(text) == ListMeetings()


@pytest.mark.parametrize(
    ("text", "action", "meeting_id"),
    [
        ("remove 12", "remove", 12),
        ("skip #7", "skip", 7),
        ("Pause 3", "pause", 3),
        ("resume 123456789", "resume", 123456789),
    ],
)
def test_id_verbs_give_the_action_and_the_meeting_id(
    text: str, action: str, meeting_id: int
) -> None:
    assert parse(text) == MeetingAction(action, meeting_id)


@pytest.mark.parametrize("text", ["remove ١٢", "skip #٣", "pause １"])
def test_meeting_ids_must_be_ascii_digits(text: str) -> None:
    assert usage_error(text).problem.startswith("Which meeting?")


# --- properties ----------------------------------------------------------------------------

COMMAND_WORDS = st.sampled_from(
    [
        "add", "list", "help", "remove", "skip", "pause", "resume", "mon", "thu", "fri-mon",
        "mon,thu", "daily", "weekdays", "weekly", "biweekly", "fortnightly", "tue", "10:00",
        "2pm", "2:30pm", "25:00", "10", "#sales", "<#C0123|sales>", "&lt;#C1&gt;", "--remind",
        "--remind=30m", "--remind=", "30m", "1h30m", "2d", "0m", "#", "`", "&amp;", "\x00",
    ]
)  # fmt: skip
COMMAND_TEXT = st.one_of(
    st.text(),
    st.lists(
        st.one_of(COMMAND_WORDS, st.text(max_size=6), st.from_regex(r"\A[0-9]{1,20}\Z")),
        max_size=8,
    ).map(" ".join),
)


@given(text=COMMAND_TEXT, today=st.dates())
@example(text="add mon 10:00 --remind 99999999999999999999", today=THURSDAY)
def test_any_text_gives_a_command_or_a_usage_error_and_never_raises(text: str, today: date) -> None:
    result = parse_meeting_command(text, today=today)

    assert isinstance(result, COMMAND_TYPES)
    if isinstance(result, UsageError):
        assert result.problem
        assert result.message.endswith(USAGE)
    if isinstance(result, AddMeeting):
        assert result.weekdays and result.weekdays <= frozenset(range(7))
        assert result.every_weeks in {1, 2}
        assert timedelta(0) <= result.remind <= timedelta(hours=24)
        assert 0 < len(result.title) <= MAX_TITLE_LENGTH
        assert result.title.isprintable()


@given(text=st.one_of(st.text(), st.from_regex(r"\A\s?\d{1,3}(:\d{1,3})?\s?([aApP][mM])?\s?\Z")))
def test_parse_time_never_raises_and_only_returns_valid_times(text: str) -> None:
    result = parse_time(text)

    assert result is None or isinstance(result, time)
    if result is not None:
        assert text.isascii()
        assert result.second == 0 and result.microsecond == 0 and result.tzinfo is None


@given(hour=st.integers(0, 99), minute=st.integers(0, 99), padded=st.booleans())
def test_parse_time_accepts_hh_mm_exactly_when_it_is_a_clock_time(
    hour: int, minute: int, padded: bool
) -> None:
    text = f"{hour:02d}:{minute:02d}" if padded else f"{hour}:{minute:02d}"
    expected = time(hour, minute) if hour <= 23 and minute <= 59 else None

    assert parse_time(text) == expected


@given(hour=st.integers(0, 13), minute=st.integers(0, 59), meridiem=st.sampled_from(["am", "pm"]))
def test_parse_time_reads_am_pm_on_the_12_hour_clock(hour: int, minute: int, meridiem: str) -> None:
    expected = (
        time(hour % 12 + (12 if meridiem == "pm" else 0), minute) if 1 <= hour <= 12 else None
    )

    assert parse_time(f"{hour}:{minute:02d}{meridiem}") == expected


@given(
    days=st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
    aliases=st.data(),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    padded=st.booleans(),
    today=st.dates(),
)
def test_rendered_add_command_parses_back_to_the_same_days_and_time(
    days: list[int],
    aliases: st.DataObject,
    hour: int,
    minute: int,
    padded: bool,
    today: date,
) -> None:
    names = [aliases.draw(st.sampled_from(DAY_ALIASES[day])) for day in days]
    clock = f"{hour:02d}:{minute:02d}" if padded else f"{hour}:{minute:02d}"

    meeting = added(f"add {','.join(names)} {clock}", today=today)

    assert meeting.weekdays == frozenset(days)
    assert meeting.local_time == time(hour, minute)
    assert meeting.every_weeks == 1
    assert meeting.title == DEFAULT_TITLE
    assert meeting.remind == DEFAULT_REMIND
