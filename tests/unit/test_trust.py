from loadlab.judge import trust
from tests.unit.factories import point


def test_a_calm_point_is_trusted():
    assert trust.reasons(point()) == []
    assert trust.unknown(point()) == []
    assert (trust.state(point()), trust.describe(point())) == ("trustworthy", "trustworthy")


def test_a_saturated_generator_is_named():
    assert trust.reasons(point(generator_cpu_max=95.0)) == ["generator CPU reached 95%"]
    assert trust.reasons(point(generator_cpu_max=89.9)) == []


def test_an_open_model_that_fell_behind_its_schedule_is_named():
    late = point(load_model="open", users=None, rate=100.0, late=60.0, client_requests=1000.0, server_requests=1000.0)
    assert trust.reasons(late) == ["60 requests not sent on time"]
    on_time = point(
        load_model="open", users=None, rate=100.0, late=50.0, client_requests=1000.0, server_requests=1000.0
    )
    assert trust.reasons(on_time) == []


def test_client_and_server_counts_that_disagree_are_named():
    assert trust.reasons(point(client_requests=1300.0, server_requests=1250.0)) == [
        "client counted 1300 requests, server 1250"
    ]
    assert trust.reasons(point(client_requests=1300.0, server_requests=1299.0)) == []  # within tolerance
    assert trust.reasons(point(client_requests=None, server_requests=1250.0)) == []  # not known: no verdict


def test_every_reason_at_once():
    bad = point(generator_cpu_max=99.0, late=500.0, client_requests=1000.0, server_requests=900.0)
    assert len(trust.reasons(bad)) == 3


def test_a_missing_generator_cpu_leaves_the_trust_unknown_not_trusted():
    blind = point(generator_cpu_max=None)
    assert trust.reasons(blind) == []  # nothing found against it...
    assert trust.unknown(blind) == ["no generator CPU measured"]  # ...because it was not looked at
    assert trust.state(blind) == trust.UNKNOWN
    assert trust.describe(blind) == "unknown: no generator CPU measured"


def test_a_missing_request_count_on_either_side_leaves_the_trust_unknown():
    assert trust.unknown(point(server_requests=None)) == ["no server request count"]
    assert trust.unknown(point(client_requests=None)) == ["no client request count"]
    assert trust.unknown(point(client_requests=None, server_requests=None)) == ["no client or server request count"]
    assert trust.state(point(server_requests=None)) == "unknown"


def test_what_only_some_points_measure_is_needed_only_there():
    open_model = {"load_model": "open", "users": None, "rate": 100.0}
    assert trust.unknown(point(**open_model, late=None)) == ["no count of requests sent late"]
    assert trust.unknown(point(**open_model, late=0.0)) == []
    assert trust.unknown(point(late=None)) == []  # a closed model sends nothing late
    apart = point(locust_workers=2, locust_workers_min=None)
    assert trust.unknown(apart) == ["no count of connected Locust workers"]
    assert trust.unknown(point(locust_workers=2, locust_workers_min=2.0)) == []


def test_a_reason_found_makes_it_untrustworthy_whatever_is_missing():
    bad = point(generator_cpu_max=99.0, server_requests=None, untrustworthy_reasons=["generator CPU reached 99%"])
    assert trust.state(bad) == trust.UNTRUSTWORTHY
    assert trust.describe(bad) == "untrustworthy: generator CPU reached 99%"
