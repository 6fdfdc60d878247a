import math
from dataclasses import replace

import pytest

from loadlab.errors import LoadlabError
from loadlab.results.sweep import SweepStep
from loadlab.sweep.configuration import next_step, search_steps
from loadlab.tuning.search import Decision, SearchSettings, Step, decide, interval, result, search


class Target:
    """A configuration whose SLO holds below `limit` requests/s; it counts what it was asked."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.asked: list[float] = []

    def __call__(self, rate: float) -> bool:
        self.asked.append(rate)
        return rate < self.limit


def test_steps_up_then_bisects_to_the_precision():
    target = Target(137.0)
    found = search(target, SearchSettings(start=10))
    assert target.asked[:5] == [10, 20, 40, 80, 160]
    assert found.capacity < 137.0 <= found.capacity * 1.05  # within 5 % below the true limit
    assert [s.rate for s in found.steps] == target.asked
    assert all(s.passed == (s.rate < 137.0) for s in found.steps)
    assert found.stopped.startswith("within 5%: the SLO holds at")
    assert len(found.steps) <= 5 + math.ceil(math.log2(80 / (0.05 * 80)))  # steps up, then halvings of [80, 160]


@pytest.mark.parametrize("limit", [5.5, 11.0, 99.9, 137.0, 1000.0, 12345.6])
def test_the_precision_holds_for_any_limit(limit):
    found = search(Target(limit), SearchSettings(start=5, precision=0.02))
    assert found.capacity < limit
    failed = min(s.rate for s in found.steps if not s.passed)
    assert (failed - found.capacity) / found.capacity <= 0.02
    assert len(found.steps) <= 20


def test_a_start_that_already_breaks_the_slo_has_no_capacity():
    target = Target(5.0)
    found = search(target, SearchSettings(start=10))
    assert (found.capacity, target.asked) == (None, [10])
    assert found.stopped == "the SLO broke at the start rate 10 rps"


def test_the_max_rate_is_asked_once_and_caps_the_search():
    target = Target(1e9)
    found = search(target, SearchSettings(start=10, max_rate=100))
    assert target.asked == [10, 20, 40, 80, 100]
    assert found.capacity == 100
    assert "held up to the max rate 100 rps" in found.stopped


def test_a_failure_at_the_max_rate_is_bisected_below_it():
    found = search(Target(90.0), SearchSettings(start=10, max_rate=100))
    assert [s.rate for s in found.steps][:5] == [10, 20, 40, 80, 100]
    assert 80 <= found.capacity < 90


def test_the_step_limit_stops_the_search_with_the_best_so_far():
    target = Target(137.0)
    found = search(target, SearchSettings(start=10, max_steps=6))
    assert len(target.asked) == 6
    assert found.capacity == 120  # 10, 20, 40, 80 passed, 160 failed, 120 passed
    assert found.stopped == "stopped after 6 steps, before reaching the precision"


def test_resuming_replays_the_stored_steps_and_measures_only_the_rest():
    settings = SearchSettings(start=10)
    whole = search(Target(137.0), settings)
    for cut in range(len(whole.steps) + 1):
        stored = [(s.rate, s.passed) for s in whole.steps[:cut]]  # as read back from a results folder
        target = Target(137.0)
        resumed = search(target, settings, done=stored)
        assert resumed == whole
        assert target.asked == [s.rate for s in whole.steps[cut:]]


def test_steps_that_this_search_would_not_have_asked_are_refused():
    with pytest.raises(LoadlabError, match=r"stored step 2 measured 30 rps where this search asks 20 rps"):
        search(Target(137.0), SearchSettings(start=10), done=[(10, True), (30, True)])
    with pytest.raises(LoadlabError, match="asks nothing more"):
        search(Target(137.0), SearchSettings(start=10), done=[(10, False), (20, False)])


def test_decide_is_the_state_machine_a_caller_can_drive_step_by_step():
    settings = SearchSettings(start=10)
    assert decide([], settings) == Decision(10)
    assert decide([Step(10, True)], settings) == Decision(20)
    assert decide([Step(10, True), Step(20, False)], settings) == Decision(15)
    with pytest.raises(LoadlabError, match="would measure 15 rps next"):
        result([Step(10, True), Step(20, False)], settings)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"start": 0}, "start rate"),
        ({"start": 10, "factor": 1}, "factor"),
        ({"start": 10, "precision": 0}, "precision"),
        ({"start": 10, "max_rate": 5}, "max rate 5 is below its start rate 10"),
        ({"start": 10, "max_steps": 0}, "at least 1 step"),
    ],
)
def test_settings_that_cannot_search_are_refused(fields, words):
    with pytest.raises(LoadlabError, match=words):
        SearchSettings(**fields)


def test_a_start_that_breaks_steps_down_to_the_floor_then_bisects():
    target = Target(300.0)
    found = search(target, SearchSettings(start=800, floor=50))
    assert target.asked[:3] == [800, 400, 200]  # down by the factor until the SLO holds
    assert found.capacity < 300.0 <= found.capacity * 1.05
    assert all(200 < rate < 400 for rate in target.asked[3:])  # then bisects between them


def test_a_start_that_holds_steps_up_as_usual():
    target = Target(3000.0)
    found = search(target, SearchSettings(start=800, floor=50))
    assert target.asked[:3] == [800, 1600, 3200]
    assert found.capacity < 3000.0 <= found.capacity * 1.05


def test_stepping_down_stops_at_the_floor():
    target = Target(10.0)
    found = search(target, SearchSettings(start=800, floor=50))
    assert target.asked == [800, 400, 200, 100, 50]
    assert found.capacity is None and found.stopped == "the SLO broke at every rate tried, down to 50 rps"
    assert decide([Step(100, False)], SearchSettings(start=100)).stopped == "the SLO broke at the start rate 100 rps"


def test_a_floor_above_the_start_is_refused():
    with pytest.raises(LoadlabError, match="floor 200 must be above 0 and at most its start 100"):
        SearchSettings(start=100, floor=200)


class Flaky(Target):
    """Holds below `limit`, except that the measurements numbered in `breaks` (0-based) break anyway."""

    def __init__(self, limit: float, breaks: set[int]) -> None:
        super().__init__(limit)
        self.breaks = breaks

    def __call__(self, rate: float) -> bool:
        held = super().__call__(rate)
        return held and len(self.asked) - 1 not in self.breaks


def test_the_held_and_broken_rates_are_measured_again_interleaved():
    settings = SearchSettings(start=10, precision=0.25, confirm=2)
    target = Target(137.0)
    found = search(target, settings)
    searched = search(Target(137.0), replace(settings, confirm=0))
    n = len(searched.steps)
    assert target.asked[:n] == [s.rate for s in searched.steps]  # the search itself is unchanged
    held, broke = searched.capacity, min(s.rate for s in searched.steps if not s.passed)
    assert target.asked[n:] == [held, broke, held, broke]
    assert (found.capacity, found.broke) == (held, broke)
    assert found.stopped == searched.stopped
    assert len(found.steps) <= settings.most_steps


def test_a_held_rate_that_breaks_when_confirmed_leaves_the_highest_rate_that_held_every_time():
    settings = SearchSettings(start=10, precision=0.25, confirm=2)
    plain = search(Target(137.0), replace(settings, confirm=0))
    n = len(plain.steps)  # 160 broke, 120 held, 140 broke: [120, 140]
    assert [s.rate for s in plain.steps] == [10, 20, 40, 80, 160, 120, 140]
    found = search(Flaky(137.0, {n + 2}), settings)  # the second confirmation of 120 breaks
    assert [s.rate for s in found.steps[n:]] == [120, 140, 120, 140]
    assert (found.capacity, found.broke) == (80, 120)  # 80 held its one time; 120 broke once
    assert interval([Step(10, True), Step(20, False), Step(10, True)]) == (10, 20)
    assert interval([Step(10, False)]) == (None, 10)
    assert interval([Step(10, True)]) == (10, None)


def test_confirmations_of_a_search_that_never_broke_or_never_held():
    capped = SearchSettings(start=10, max_rate=40, confirm=2)
    target = Target(1e9)
    found = search(target, capped)
    assert target.asked == [10, 20, 40, 40, 40]  # only the held rate: nothing broke
    assert (found.capacity, found.broke) == (40, None)
    target = Target(5.0)
    found = search(target, SearchSettings(start=10, confirm=2))
    assert target.asked == [10]  # nothing held: no rate can hold every time, so nothing to confirm
    assert (found.capacity, found.broke) == (None, 10)


def test_a_search_with_confirmations_resumes_from_any_stored_step():
    settings = SearchSettings(start=10, confirm=2)
    whole = search(Target(137.0), settings)
    for cut in range(len(whole.steps) + 1):
        target = Target(137.0)
        assert search(target, settings, done=[(s.rate, s.passed) for s in whole.steps[:cut]]) == whole
        assert target.asked == [s.rate for s in whole.steps[cut:]]
    with pytest.raises(LoadlabError, match="confirmations must be 0 or more"):
        SearchSettings(start=10, confirm=-1)


def test_a_start_whose_one_hold_breaks_when_confirmed_steps_down_and_confirms_there():
    # a sweep starts a configuration at a smaller one's capacity (100, floor 50): it holds once,
    # everything above breaks, and the confirmation of 100 breaks; the search steps down to 50
    settings = SearchSettings(start=100, floor=50, precision=0.25, confirm=1)
    plain = search(Target(105.0), replace(settings, confirm=0))
    assert [s.rate for s in plain.steps] == [100, 200, 150, 125]  # 125 is within 25 % of 100
    n = len(plain.steps)
    target = Flaky(105.0, {n})  # the confirmation of 100 breaks
    found = search(target, settings)
    assert target.asked[n:] == [100, 125, 50, 50]  # confirmations, then 50 and its own confirmation
    assert (found.capacity, found.broke) == (50, 100)
    assert found.stopped == "the rates above broke when measured again; 50 rps, below them, held all 2 times"
    assert len(found.steps) <= settings.most_steps


def test_stepping_down_after_confirmations_stops_at_the_floor_or_after_its_tries():
    settings = SearchSettings(start=100, floor=50, precision=0.25, confirm=1)
    n = len(search(Target(105.0), replace(settings, confirm=0)).steps)
    # the confirmation of 100 breaks, and so does 50 each time: the floor is reached, nothing held every time
    found = search(Flaky(105.0, {n, n + 2}), settings)
    assert [s.rate for s in found.steps[n:]] == [100, 125, 50]
    assert found.capacity is None and found.broke == 50
    assert found.stopped == "every rate that held broke when measured again, down to 50 rps: no rate held every time"
    # with a lower floor, two rates are tried below, each confirmed when it holds: 50 holds then breaks, 25 breaks
    low = replace(settings, floor=10)
    found = search(Flaky(105.0, {n, n + 3, n + 4}), low)
    assert [s.rate for s in found.steps[n:]] == [100, 125, 50, 50, 25]
    assert found.capacity is None and len(found.steps) <= low.most_steps
    # a search whose own held rate survives its confirmations never steps down
    target = Target(137.0)
    search(target, SearchSettings(start=10, precision=0.25, confirm=2))
    assert min(target.asked) == 10


def test_a_search_stepping_down_after_confirmations_resumes_from_any_stored_step():
    settings = SearchSettings(start=100, floor=50, precision=0.25, confirm=1)
    n = len(search(Target(105.0), replace(settings, confirm=0)).steps)
    whole = search(Flaky(105.0, {n}), settings)
    for cut in range(len(whole.steps) + 1):
        target = Flaky(105.0, {n - cut} if cut <= n else set())  # measurement n is still the one that breaks
        assert search(target, settings, done=[(s.rate, s.passed) for s in whole.steps[:cut]]) == whole
        assert target.asked == [s.rate for s in whole.steps[cut:]]


# ---------------------------------------------------------------- a step that broke only on trust


def sweep_step(rate: float, passed: bool, untrusted: bool = False) -> SweepStep:
    return SweepStep(rate, passed, "r", rate, 20.0, 0.0, [] if passed else ["late"], untrusted=untrusted)


def drive(target: Target, settings: SearchSettings, hiccups: set[int]) -> tuple[list[SweepStep], float | None]:
    """The sweep's loop (loadlab.sweep.configuration.next_step): the measurements numbered in `hiccups` break
    on trust alone (the generator sent late), whatever the target did; (every step, the capacity)."""
    steps: list[SweepStep] = []
    while True:
        rate = next_step(steps, settings).rate
        if rate is None:
            return steps, interval(search_steps(steps)[0])[0]
        held = target(rate)
        hiccup = len(steps) in hiccups
        steps.append(sweep_step(rate, held and not hiccup, untrusted=held and hiccup))


def test_a_step_broken_only_on_trust_is_measured_again_and_only_that_measurement_counts():
    settings = SearchSettings(start=25, factor=4, max_rate=400, confirm=1)  # the failing sweep's
    plain_steps, plain = drive(Target(137.0), settings, hiccups=set())
    steps, capacity = drive(Target(137.0), settings, hiccups={0})  # the CI failure: the start rate, sent late
    assert capacity == plain is not None and 100 <= capacity < 137
    assert [s.rate for s in steps] == [25, *(s.rate for s in plain_steps)]  # the start, measured again, then as before
    assert steps[0].untrusted and not steps[0].passed  # kept and shown, not counted
    # untrusted twice in a row: the second counts as broke, and the search goes on from there
    steps, capacity = drive(Target(137.0), replace(settings, floor=5), hiccups={0, 1})
    assert [s.rate for s in steps[:3]] == [25, 25, 6.25] and capacity is not None and capacity >= 6.25
    # a later hiccup, at a rate that held before, is measured again too
    steps, capacity = drive(Target(137.0), settings, hiccups={1})
    assert [s.rate for s in steps[:3]] == [25, 100, 100] and capacity == plain


def test_search_steps_replays_stored_steps_the_same_way_when_resumed():
    stored = [sweep_step(25, False, untrusted=True), sweep_step(25, True), sweep_step(100, False, untrusted=True)]
    assert search_steps(stored[:1]) == ([], 25)
    assert search_steps(stored[:2]) == ([Step(25, True)], None)
    assert search_steps(stored) == ([Step(25, True)], 100)
    old = [sweep_step(25, False)]  # a sweep.json written before `untrusted` existed reads as before
    assert search_steps(old) == ([Step(25, False)], None)
