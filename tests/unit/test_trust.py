from loadlab.judge import trust
from tests.unit.factories import point


def test_a_calm_point_is_trusted():
    assert trust.reasons(point()) == []


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
