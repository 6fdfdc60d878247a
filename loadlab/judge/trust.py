"""Whether a point's figures describe the target, or something else that got in the way.

A point is untrustworthy when:
- the generator saturated: a Locust process reached GENERATOR_CPU_LIMIT % of a core, so Locust,
  not the target, may have set the pace (and its own timings stretch);
- the open model's schedule was not held: more than LATE_LIMIT of the requests went out late,
  so the offered load was lower than asked;
- the client and the server disagree on how many requests there were, beyond COUNT_TOLERANCE:
  requests were lost on the way (connection errors) or counted twice;
- Locust workers started apart went away while it was measured;
- in the container stack, one of its containers was killed, stopped, restarted or paused while the
  point ran (`faults`, from Docker's events: loadlab.compose).

A rule that lacks its measurement (Prometheus has no generator CPU, no count on one side, ...)
cannot clear the point either: its trust is then unknown, with what is missing (`unknown`), never
counted as trustworthy. Both are worked out from the point's stored figures, so a summary written
before this rule existed is judged the same way.
"""

from loadlab.results.point import PointResult

GENERATOR_CPU_LIMIT = 90.0  # percent of one core
LATE_LIMIT = 0.05  # share of requests sent late
COUNT_TOLERANCE = 0.005  # share of requests by which client and server counts may differ (at least 2)

TRUSTWORTHY, UNKNOWN, UNTRUSTWORTHY = "trustworthy", "unknown", "untrustworthy"


def reasons(result: PointResult) -> list[str]:
    """Why `result` cannot be trusted, each as a readable phrase; [] when nothing says so."""
    found = []
    cpu = result.generator_cpu_max
    if cpu is not None and cpu >= GENERATOR_CPU_LIMIT:
        found.append(f"generator CPU reached {cpu:.0f}%")
    if result.late and result.late > LATE_LIMIT * max(1.0, result.client_requests or 0.0):
        found.append(f"{result.late:.0f} requests not sent on time")
    fewest = result.locust_workers_min
    if result.locust_workers and fewest is not None and fewest < result.locust_workers:
        found.append(f"Locust workers: {fewest:.0f} of {result.locust_workers} stayed connected (the rest went away)")
    if result.faults:
        found.append("faults in the stack while it ran: " + "; ".join(result.faults))
    client, server = result.client_requests, result.server_requests
    if client is not None and server is not None and abs(client - server) > max(2.0, COUNT_TOLERANCE * server):
        found.append(f"client counted {client:.0f} requests, server {server:.0f}")
    return found


def unknown(result: PointResult) -> list[str]:
    """What a rule needs and `result` lacks, each as a readable phrase; [] when every rule could be checked."""
    missing = []
    if result.generator_cpu_max is None:
        missing.append("no generator CPU measured")
    if result.load_model == "open" and result.late is None:
        missing.append("no count of requests sent late")
    if result.locust_workers and result.locust_workers_min is None:
        missing.append("no count of connected Locust workers")
    sides = [
        side
        for side, count in (("client", result.client_requests), ("server", result.server_requests))
        if count is None
    ]
    if sides:
        missing.append(f"no {' or '.join(sides)} request count")
    return missing


def state(result: PointResult) -> str:
    """UNTRUSTWORTHY when a rule found a reason, else UNKNOWN when a rule lacked its measurement, else TRUSTWORTHY."""
    if result.untrustworthy:
        return UNTRUSTWORTHY
    return UNKNOWN if unknown(result) else TRUSTWORTHY


def describe(result: PointResult) -> str:
    """The point's trust in one phrase: "trustworthy", or the state with its reasons."""
    found = state(result)
    if found == UNTRUSTWORTHY:
        return f"{found}: " + "; ".join(result.untrustworthy_reasons)
    if found == UNKNOWN:
        return f"{found}: " + "; ".join(unknown(result))
    return found
