# Open model: requests arrive at a fixed rate whether or not the target keeps up; latency counts from the schedule.
"""The lab's scenarios on the open model's schedule (loadlab.load.schedule, shared with a user's own
load): each arrival sends one request of the scenario.

    locust -f locustfiles/open_model.py --headless --host http://127.0.0.1:8001 --scenario io-sleep \
        -u 1 -t 10s --rate 200 --max-inflight 1000 --late-tolerance 0.01 --prometheus-port 9646
"""

from loadlab.contract.latency import SCHEDULE_DELAY
from loadlab.load import drain, exporter, gate, latency, warmup  # noqa: F401 - importing registers them
from loadlab.load.schedule import Scheduled
from loadlab.load.users import ScenarioUser, user_classes


class OpenModelUser(Scheduled, ScenarioUser):
    abstract = True

    @property
    def scenario_label(self) -> str:  # the scheduled latency's `scenario` label
        return self.scenario.name

    def fire(self, delay: float) -> tuple[str, str]:
        self.request(**{SCHEDULE_DELAY: delay})  # loadlab.load.latency: latency from the schedule
        return self.scenario.route, self.method


globals().update(user_classes(OpenModelUser))
