"""The shop's users: mostly browsing, some buying, now and then a new item (examples/shop/main.py).

loadlab run --app-dir examples --app shop.main:app --health /health --locustfile examples/shop/locustfile.py
"""

import random

from locust import FastHttpUser, between, task

SEEDED = 100  # items the shop creates at its first start


class Shopper(FastHttpUser):
    wait_time = between(0, 0.05)

    @task(3)
    def browse(self) -> None:
        self.client.get("/items?limit=20")

    @task(5)
    def look_at_one(self) -> None:
        self.client.get(f"/items/{random.randint(1, SEEDED)}")

    @task(1)
    def buy(self) -> None:
        self.client.post("/orders", json={"item_id": random.randint(1, SEEDED), "quantity": 1})

    @task(1)
    def add_item(self) -> None:
        self.client.post("/items", json={"name": "new", "price_cents": 250, "stock": 10})
