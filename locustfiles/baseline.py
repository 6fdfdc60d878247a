# Baseline: a plain FastHttpUser requesting /hello, with none of loadlab's additions (no exporter, warm-up or drain).
"""`loadlab bench suite-cost` runs it beside the suite's closed-model user to show what those additions cost.

locust -f locustfiles/baseline.py --headless --host http://127.0.0.1:8001 -u 64 -r 64 -t 10s
"""

from locust import FastHttpUser, task

from loadlab.contract.routes import HELLO


class HelloUser(FastHttpUser):
    @task
    def hello(self) -> None:
        self.client.get(HELLO)
