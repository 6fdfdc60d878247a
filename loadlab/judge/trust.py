"""Whether a point's figures describe the target, or something else that got in the way.

A point is untrustworthy when:
- the generator saturated: a Locust process reached GENERATOR_CPU_LIMIT % of a core, so Locust,
  not the target, may have set the pace (and its own timings stretch);
- the open model's schedule was not held: more than LATE_LIMIT of the requests went out late,
  so the offered load was lower than asked;
- the client and the server disagree on how many requests there were, beyond COUNT_TOLERANCE:
  requests were lost on the way (connection errors) or counted twice.
"""

from loadlab.results.point import PointResult

GENERATOR_CPU_LIMIT = 90.0  # percent of one core
LATE_LIMIT = 0.05  # share of requests sent late
COUNT_TOLERANCE = 0.005  # share of requests by which client and server counts may differ (at least 2)


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
    client, server = result.client_requests, result.server_requests
    if client is not None and server is not None and abs(client - server) > max(2.0, COUNT_TOLERANCE * server):
        found.append(f"client counted {client:.0f} requests, server {server:.0f}")
    return found
