"""`--target-host` and `--metrics-url`, the parts that need no process: what the options accept, the
one-line errors (status 2) for what they refuse, and where a run's points load and scrape."""

import pytest

from loadlab.cli import parse_args
from loadlab.commands import run, sweep
from loadlab.config.run_config import plan
from loadlab.errors import USAGE, LoadlabError
from loadlab.run.slots import slots
from loadlab.stack.placement import REMOTE_PORTS, Placement
from loadlab.stack.prometheus import LOCUST_JOB, TARGETS_JOB

IO_SLEEP = ["--scenario", "io-sleep", "--run-id", "t"]


@pytest.mark.parametrize("value", ["10.0.0.5", "targets.lan", "box-1"])
def test_an_address_or_a_host_name_is_taken_as_it_is(value):
    assert parse_args(["run", *IO_SLEEP, "--target-host", value]).target_host == value
    assert parse_args(["sweep", "--target-host", value]).target_host == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("10.0.0.5:8001", "no scheme, no port"),
        ("http://10.0.0.5", "no scheme, no port"),
        ("", "no scheme, no port"),
        ("999.1.1.1", "no scheme, no port"),
        ("0.0.0.0", "every interface"),
        ("::1", "IPv6"),
    ],
)
def test_a_bad_target_host_is_one_line_and_status_2(capsys, value, why):
    for command in (["run", *IO_SLEEP], ["sweep"]):
        with pytest.raises(SystemExit) as caught:
            parse_args([*command, "--target-host", value])
        assert caught.value.code == USAGE
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--target-host" in err and why in err, err


def refused(config_from, argv: list[str]) -> str:
    with pytest.raises(LoadlabError) as caught:
        config_from(parse_args(argv))
    assert caught.value.status == USAGE and "\n" not in str(caught.value)
    return str(caught.value)


def test_what_cannot_go_with_a_target_host_or_a_metrics_url_is_refused():
    many = ["sweep", "--target", "async", "--workers", "1,2", "--server", "uvicorn-workers", "--target-host", "h"]
    assert "give one value of workers" in refused(sweep.config_from, many)
    assert "--metrics-url goes with --url" in refused(
        run.config_from, ["run", *IO_SLEEP, "--metrics-url", "http://h:9"]
    )


def test_a_run_with_a_target_host_loads_and_scrapes_the_targets_there_and_its_locust_here():
    config = run.config_from(parse_args(["run", *IO_SLEEP, "--target-host", "10.0.0.5"]))
    assert config.target_host == "10.0.0.5"
    found = slots(config, "t", plan(config), Placement(target_host=config.target_host))
    assert [s.point.target for s in found] == ["sync", "async"]
    for slot in found:
        port, metrics_port = REMOTE_PORTS[slot.point.target]
        assert slot.running_elsewhere and slot.long_lived and not slot.external
        assert slot.spec.url == f"http://10.0.0.5:{port}"
        scraped = {t.job: t.address for t in slot.scrape_targets()}
        assert scraped == {TARGETS_JOB: f"10.0.0.5:{metrics_port}", LOCUST_JOB: f"127.0.0.1:{slot.locust_port}"}
    assert len({REMOTE_PORTS[t] for t in ("sync", "async")}) == 2  # both targets can be served on one machine
