"""The notes service's users (examples/notes/app.py): read the list, now and then write."""

from locust import HttpUser, task


class NoteTaker(HttpUser):
    @task(4)
    def read(self) -> None:
        self.client.get("/notes")

    @task(1)
    def write(self) -> None:
        self.client.post("/notes", json={"text": "remember the milk"})
