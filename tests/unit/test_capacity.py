"""A capacity-search step holds only when the SLO, the offered rate and the trust rules all hold."""

from loadlab.judge.capacity import judge_step, trust_unknown
from tests.unit.factories import point


def open_point(**fields):
    values = {
        "load_model": "open",
        "users": None,
        "rate": 100.0,
        "rps": 99.0,
        "p99_ms": 150.0,
        "p99_scheduled_ms": 160.0,
        "late": 0.0,
    }
    return point(**{**values, **fields})


def test_a_step_within_every_limit_holds():
    verdict = judge_step(open_point(), 100.0, p99_limit_ms=200, error_ratio_limit=0.01)
    assert (verdict.passed, verdict.why, verdict.generator_saturated) == (True, [], False)


def test_the_p99_from_the_schedule_counts_coordinated_omission_included():
    verdict = judge_step(open_point(p99_ms=150.0, p99_scheduled_ms=900.0), 100.0, 200, 0.01)
    assert not verdict.passed
    assert verdict.why == ["p99 900 ms > 200 ms"]


def test_errors_beyond_the_limit_break_it():
    verdict = judge_step(open_point(requests=1000, failures=50), 100.0, 200, 0.01)
    assert verdict.why == ["error ratio 0.050 > 0.01"]


def test_a_target_that_falls_behind_the_offered_rate_breaks_it():
    verdict = judge_step(open_point(rps=70.0), 100.0, 200, 0.01)
    assert verdict.why == ["served 70 of 100 rps offered"]


def test_a_saturated_generator_breaks_it_and_is_named():
    verdict = judge_step(open_point(untrustworthy_reasons=["generator CPU reached 97%"]), 100.0, 200, 0.01)
    assert not verdict.passed
    assert verdict.generator_saturated


def test_no_completed_request_breaks_it():
    verdict = judge_step(open_point(p99_ms=None, p99_scheduled_ms=None, rps=None), 50.0, 200, 0.01)
    assert "no request completed" in verdict.why


def test_a_step_whose_trust_cannot_be_judged_holds_on_the_rest_and_says_what_is_missing():
    verdict = judge_step(open_point(generator_cpu_max=None, late=None), 100.0, 200, 0.01)
    assert verdict.passed and not verdict.generator_saturated
    assert verdict.why == ["trust unknown: no generator CPU measured", "trust unknown: no count of requests sent late"]
    assert trust_unknown(verdict.why) == ["no generator CPU measured", "no count of requests sent late"]
    broken = judge_step(open_point(rps=70.0, server_requests=None), 100.0, 200, 0.01)
    assert not broken.passed
    assert broken.why == ["served 70 of 100 rps offered", "trust unknown: no server request count"]
    assert trust_unknown(judge_step(open_point(), 100.0, 200, 0.01).why) == []


def test_a_step_that_broke_only_on_trust_within_the_slo_is_marked_untrusted():
    late = judge_step(open_point(untrustworthy_reasons=["4 requests not sent on time"]), 100.0, 200, 0.01)
    assert (late.passed, late.why, late.untrusted) == (False, ["4 requests not sent on time"], True)
    # beside an SLO breach or a saturated generator, the step broke for good: not measured again
    slow = judge_step(
        open_point(p99_scheduled_ms=900.0, untrustworthy_reasons=["9 requests not sent on time"]), 100.0, 200, 0.01
    )
    assert not slow.passed and not slow.untrusted
    saturated = judge_step(open_point(untrustworthy_reasons=["generator CPU reached 97%"]), 100.0, 200, 0.01)
    assert not saturated.passed and not saturated.untrusted
    assert not judge_step(open_point(), 100.0, 200, 0.01).untrusted
