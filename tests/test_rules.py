"""The generated Prometheus rules: valid, loaded by a run's config, and behaving as their promtool tests say."""

import subprocess

from loadlab import rules
from loadlab.judge import slo
from loadlab.stack.prometheus import RULES_FILE

RULE_TESTS = RULES_FILE.parent / "tests"


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)


def test_rules_are_valid_and_lint_clean():
    result = promtool("check", "rules", str(RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout and "lint" not in (result.stdout + result.stderr).lower()


def test_every_alert_fires_and_stays_quiet_as_its_promtool_tests_say():
    tests = sorted(RULE_TESTS.glob("*.test.yml"))
    assert tests
    result = promtool("test", "rules", *map(str, tests))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_promtool_test():
    alerts = {r["alert"] for group in rules.groups({"default": {}})["groups"] for r in group["rules"] if "alert" in r}
    tested = "".join(path.read_text() for path in RULE_TESTS.glob("*.test.yml"))
    assert {a for a in alerts if f"alertname: {a}" not in tested} == set()


def test_slo_limits_become_one_series_per_scenario_and_limit(tmp_path):
    slo_file = tmp_path / "slo.toml"
    slo_file.write_text("[default]\nerror_ratio = 0.05\n[scenario.io-sleep]\np99_ms = 250\n")
    made = {
        (r["labels"]["scenario"], r["labels"]["limit"]): r["expr"] for r in rules.slo_limit_rules(slo.load(slo_file))
    }
    assert made[("io-sleep", "p99_ms")] == "vector(250)"
    assert made[("hello", "error_ratio")] == "vector(0.05)"
    assert ("hello", "p99_ms") not in made
    slo_file.write_text("")
    assert rules.slo_limit_rules(slo.load(slo_file)) == []
