"""What a sweep's measurements say, worked out from its stored results: the model beside every
capacity, the USL per server × target × scenario, and the recommendation. Pure: no process, so the
sweep recomputes it after every configuration and `loadlab report` can trust what is stored.

The USL is fitted on the configurations the recommendation can use (`fits_usl`): a capacity, its
generator not saturated, its trust at capacity judged, and a search that broke (one that never did
measured its max rate, not a capacity). Each capacity's uncertainty is its interval's: a limit
anywhere in [held, broke] with equal chance has a standard deviation of (broke − held) ÷ √12.
"""

import math

from loadlab import model
from loadlab.contract.scenarios import TARGETS
from loadlab.errors import LoadlabError
from loadlab.judge.capacity import trust_unknown
from loadlab.results.sweep import (
    ConfigResult,
    FolkloreRow,
    ModelBeside,
    RecommendationRow,
    SweepSummary,
    UslCurve,
)
from loadlab.tuning import recommend


def model_beside(result: ConfigResult, cores: int, max_connections: int | None) -> ModelBeside | None:
    """The queueing model's ceiling for a configuration, with its CPU per request as measured at capacity
    and PostgreSQL's max_connections as its server said (None: unknown, and the explanation says so)."""
    c = result.config
    if own_app(result):
        return None  # the model knows how the lab's scenarios spend their time, not a user's requests
    ceiling = model.ceiling(
        scenario=c.scenario,
        target=c.target,
        workers=c.workers,
        threads=c.threads,
        db_pool=c.db_pool,
        cores=cores,
        cpu_ms_per_request=result.cpu_ms_per_request,
        max_connections=max_connections,
    )
    if ceiling is None or result.capacity_measured_rps is None:
        return None
    check = model.versus_model(result.capacity_measured_rps, ceiling)
    hidden = check.hidden_limit and not capped(result)  # a search cut at its max rate found no limit at all
    return ModelBeside(ceiling.rps, ceiling.binding, ceiling.explanation, check.ratio, hidden)


def own_app(result: ConfigResult) -> bool:
    """A configuration of a user's app (`loadlab sweep --app`): its target is not one of the lab's."""
    return result.config.target not in TARGETS


def capped(result: ConfigResult) -> bool:
    """Every step held: the search stopped at its max rate (or step cap), not at the target's limit."""
    return bool(result.steps) and all(s.passed for s in result.steps)


def fits_usl(r: ConfigResult) -> bool:
    """Whether a configuration's capacity goes into the USL fit: one the recommendation uses (not the
    generator's), trusted, and a limit found rather than the search's max rate."""
    return (
        r.done
        and r.capacity_measured_rps is not None
        and not r.generator_saturated
        and not trust_unknown_at_capacity(r)
        and not capped(r)
    )


def uncertainty(r: ConfigResult) -> float:
    """The capacity's standard uncertainty in rps: its interval's width ÷ √12 (uniform within it), at
    least 1 % of the capacity; a search without an upper end (an older sweep's) counts 1 %."""
    measured = r.capacity_measured_rps or 0.0
    width = (r.broke_rps - r.capacity_rps) if r.broke_rps is not None and r.capacity_rps is not None else 0.0
    return max(width / math.sqrt(12), 0.01 * measured, 1e-6)


def usl_curves(configs: list[ConfigResult]) -> list[UslCurve]:
    """The USL fitted to capacity against workers wherever 3 or more worker counts that `fits_usl`
    have everything else the same."""
    from loadlab.tuning import usl  # SciPy: only when there is something to fit

    groups: dict[tuple, list[ConfigResult]] = {}
    for r in configs:
        if fits_usl(r):
            c = r.config
            groups.setdefault((c.server, c.target, c.scenario, c.threads, c.db_pool), []).append(r)
    curves = []
    for (server, target, scenario, threads, db_pool), group in sorted(groups.items()):
        group.sort(key=lambda r: r.config.workers)
        points = [(r.config.workers, r.capacity_measured_rps or 0.0) for r in group]
        try:
            fit = usl.fit(points, uncertainty=[uncertainty(r) for r in group])
        except LoadlabError:  # fewer than 3 worker counts, or nothing to fit
            continue
        spread = fit.spread
        assert spread is not None  # fitted with uncertainties
        curves.append(
            UslCurve(
                server,
                target,
                scenario,
                [n for n, _ in points],
                [x for _, x in points],
                fit.lam,
                fit.sigma,
                fit.kappa,
                fit.peak_n,
                fit.verdict,
                threads,
                db_pool,
                list(spread.sigma),
                list(spread.kappa),
                [spread.peak[0], None if math.isinf(spread.peak[1]) else spread.peak[1]],
                fit.peak_determined,
            )
        )
    return curves


def trust_unknown_at_capacity(result: ConfigResult) -> list[str]:
    """What the trust rules lacked at the steps that gave the configuration its capacity; [] when judged."""
    return list(dict.fromkeys(w for s in result.at(result.capacity_rps) if s.passed for w in trust_unknown(s.why)))


def bound_by(result: ConfigResult) -> str:
    if capped(result):
        return "nothing yet: the SLO held at every rate tried (raise --max-rate)"
    if result.generator_saturated:
        return "the load generator (its CPU saturated)"
    if result.model is None and own_app(result):
        return "the SLO (no queueing model for your own app: it models the lab's scenarios only)"
    if result.model is None:
        return "the SLO (no model for this scenario)"
    if result.model.hidden_limit:
        return (
            f"a limit the model does not know (measured {result.model.ratio:.2f} of its {result.model.binding} limit)"
        )
    return result.model.explanation


def recommendations(configs: list[ConfigResult], cores: int) -> list[RecommendationRow]:
    ids: dict[recommend.Measured, str] = {}  # each configuration's id, to name the recommended ones
    for r in configs:
        if r.done:
            c = r.config
            # the generator, not the target, stopped its search: flagged, and not recommended
            saturated = r.generator_saturated
            m = recommend.Measured(
                c.target,
                c.scenario,
                c.server,
                c.workers,
                c.threads,
                c.db_pool,
                r.capacity_measured_rps,
                bound_by(r),
                saturated,
                tuple(trust_unknown_at_capacity(r)),
                r.broke_rps,
                r.capacity_rps,
            )
            ids[m] = c.id

    def config_id(m: recommend.Measured | None) -> str | None:
        return None if m is None else ids[m]

    return [
        RecommendationRow(
            rec.target,
            rec.scenario,
            config_id(rec.best),
            rec.best.capacity_rps if rec.best else None,
            config_id(rec.smallest),
            rec.smallest.capacity_rps if rec.smallest else None,
            rec.why,
            [
                FolkloreRow(f.rule, f.workers, f.measured.capacity_rps if f.measured else None, f.note)
                for f in rec.folklore
            ],
            [ids[m] for m in rec.within_noise],
        )
        for rec in recommend.recommend(list(ids), cores)
    ]


def analyse(summary: SweepSummary, max_connections: int | None) -> None:
    """Fill in the model, the USL curves and the recommendation from the measured configurations;
    `max_connections` is what the targets' PostgreSQL said (`loadlab.stack.database.max_connections`),
    None when unknown."""
    for r in summary.configs:
        r.model = model_beside(r, summary.cores, max_connections) if r.done else None
    summary.usl = usl_curves(summary.configs)
    summary.recommendations = recommendations(summary.configs, summary.cores)
