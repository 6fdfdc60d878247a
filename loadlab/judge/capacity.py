"""Did one step of a capacity search hold? A step is an open-model point at one arrival rate.

It held when:
- its p99 (from the schedule when the open model measured it: the latency a user would see,
  coordinated omission included) and its error ratio are within the SLO (`slo.toml`'s limits for
  the scenario, or the sweep's overrides);
- the target kept up with the offered rate (at least `KEPT_UP` of it was served);
- the measurement can be trusted (loadlab.judge.trust): requests went out on schedule, the client
  and server counts agree, the generator was not saturated.
A step whose generator saturated measured the generator, not the target: it is marked so, and the
sweep says the generator stopped it. A step that broke only because its measurement cannot be
trusted otherwise (requests sent late, client and server counts apart), within the SLO, is marked
`untrusted`: a hiccup of the shared machine, not the target's limit, so the sweep measures it
again. A step whose trust cannot be judged (a measurement the trust rules need is missing) is
judged on the rest, and its `why` says, after `TRUST_UNKNOWN`, what is missing, even when it held:
the sweep's recommendation names it rather than taking it on trust.
"""

from dataclasses import dataclass

from loadlab.judge import trust
from loadlab.results.point import PointResult

KEPT_UP = 0.9  # served ÷ offered below this: the target fell behind the schedule
GENERATOR = "generator CPU"  # how loadlab.judge.trust names a saturated generator
TRUST_UNKNOWN = "trust unknown: "  # starts each `why` saying what the trust rules lacked


@dataclass(frozen=True)
class StepVerdict:
    passed: bool
    why: list[str]  # what broke (empty when it held), then what the trust rules lacked
    generator_saturated: bool
    untrusted: bool = False  # broke only on trust, not on the SLO nor a saturated generator


def judge_step(
    point: PointResult, rate: float, p99_limit_ms: float | None, error_ratio_limit: float | None
) -> StepVerdict:
    why = []
    p99 = max((v for v in (point.p99_ms, point.p99_scheduled_ms) if v is not None), default=None)
    if p99_limit_ms is not None:
        if p99 is None:
            why.append("no request completed")
        elif p99 > p99_limit_ms:
            why.append(f"p99 {p99:.0f} ms > {p99_limit_ms:g} ms")
    if error_ratio_limit is not None and point.error_ratio > error_ratio_limit:
        why.append(f"error ratio {point.error_ratio:.3f} > {error_ratio_limit:g}")
    served = point.rps or 0.0
    if served < KEPT_UP * rate:
        why.append(f"served {served:.0f} of {rate:g} rps offered")
    if point.cut_short:
        why.append(f"stopped early: {point.cut_short}")
    within_slo = not why
    why += point.untrustworthy_reasons
    saturated = any(r.startswith(GENERATOR) for r in point.untrustworthy_reasons)
    passed = not why
    if not point.untrustworthy:
        why += [TRUST_UNKNOWN + missing for missing in trust.unknown(point)]
    return StepVerdict(passed, why, saturated, untrusted=within_slo and not passed and not saturated)


def trust_unknown(why: list[str]) -> list[str]:
    """What the trust rules lacked at a step, from its stored `why`; [] when its trust was judged."""
    return [w.removeprefix(TRUST_UNKNOWN) for w in why if w.startswith(TRUST_UNKNOWN)]
