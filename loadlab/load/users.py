"""The scenario catalogue as Locust user classes: one per scenario, picked with `--scenario NAME`.

Each locustfile defines one abstract user (how load is offered) and gets one concrete class per
scenario from `user_classes`, named after the scenario. Every request is named after the
scenario's route template and carries the scenario in its context, so Locust's stats, the client
metrics and the server's `route` label line up. Importing this module registers `--scenario`;
it is imported only inside Locust processes.
"""

from locust import FastHttpUser, events
from locust.runners import WorkerRunner

from loadlab.contract.scenarios import SCENARIOS, Scenario
from loadlab.load.options import abort, usage_error

DEFAULT_SCENARIO = "hello"


def scenario_name(text: str) -> str:
    if text not in SCENARIOS:
        usage_error(f"unknown scenario {text!r}; valid scenarios: {', '.join(SCENARIOS)}")
    return text


@events.init_command_line_parser.add_listener
def _add_options(parser) -> None:
    parser.add_argument(
        "--scenario",
        type=scenario_name,
        default=DEFAULT_SCENARIO,
        help=f"the scenario to run: {', '.join(SCENARIOS)} (default {DEFAULT_SCENARIO})",
    )


class ScenarioUser(FastHttpUser):
    """A user that requests one scenario's route; subclasses decide when."""

    abstract = True
    scenario: Scenario
    method = "GET"

    def context(self) -> dict:
        return {"scenario": self.scenario.name}  # the exporter's `scenario` label

    def request(self, **context: object) -> None:
        """One request of the scenario; `context` goes to the request's listeners, beside `context()`'s."""
        self.client.request(self.method, self.scenario.path, name=self.scenario.route, context=context)


def user_classes(base: type[ScenarioUser]) -> dict[str, type[ScenarioUser]]:
    """{scenario name: concrete subclass of `base` of that name}, for the locustfile's globals()."""
    return {
        s.name: type(s.name, (base,), {"scenario": s, "abstract": False, "__module__": base.__module__})
        for s in SCENARIOS.values()
    }


@events.init.add_listener
def _keep_chosen_scenario(environment, runner, **_kwargs) -> None:
    if isinstance(runner, WorkerRunner):
        return  # a worker spawns whatever the master dispatches; it must know every class by name
    chosen = environment.parsed_options.scenario
    kept = [u for u in environment.user_classes if getattr(u, "scenario", None) in (None, SCENARIOS[chosen])]
    if not any(getattr(u, "scenario", None) for u in kept):
        abort(f"scenario {chosen!r} is not among the user classes to run")
    environment.user_classes[:] = kept
