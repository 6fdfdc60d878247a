import pytest

from loadlab import durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30),
        ("0", 0),
        ("0.5", 0.5),
        ("30s", 30),
        ("2m", 120),
        ("1h30m", 5400),
        ("1h2m3s", 3723),
        ("1m30.5s", 90.5),
    ],
)
def test_parses_locust_style_durations(text, seconds):
    assert durations.parse(text) == seconds


@pytest.mark.parametrize("text", ["", "s", "2x", "1m1h", "-5", "nan", "inf", "3 m", "1.5.2s"])
def test_rejects_what_is_not_a_duration(text):
    with pytest.raises(ValueError, match="duration"):
        durations.parse(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (42, "42s"), (41.2, "42s"), (125, "2m05s"), (3723, "1h02m03s")]
)
def test_renders_whole_seconds_rounded_up(seconds, text):
    assert durations.render(seconds) == text
