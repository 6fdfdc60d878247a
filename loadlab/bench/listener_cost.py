"""`python -m loadlab.bench.listener_cost`: the CPU that recording one request's latency adds to a
Locust process, timed where nothing else varies. Locust's request event (an EventHook, as every
Locust process fires it once per request) is fired with and without loadlab.load.latency's
listener, in alternating blocks of `--calls` fires, `--rounds` times; each round prints one JSON
line: {"with_us": ..., "without_us": ...}, CPU microseconds per fire.

That listener is all the per-request work recording adds (loadlab.load.latency: the histograms are
encoded only when a worker reports, every 3 s, and written once when the test stops). It runs in a
process of its own because importing Locust patches the standard library for gevent. The fired
latencies spread over five decades (0.1 ms to 10 s) so that the histogram's buckets vary as in a
real run, and `--schedule` adds the open model's second histogram (the latency from the schedule),
the dearer case.
"""

import argparse
import json
import random
import time


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadlab.bench.listener_cost")
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--schedule", action="store_true", help="also record the latency from the schedule")
    args = parser.parse_args()

    from locust.event import EventHook

    from loadlab.contract.latency import SCHEDULE_DELAY
    from loadlab.load import latency

    def locusts_own(**_kwargs) -> None:  # stands for the listeners every Locust process has anyway
        pass

    without, with_ = EventHook(), EventHook()
    for hook in (without, with_):
        hook.add_listener(locusts_own)
    with_.add_listener(latency._on_request)
    rng = random.Random(18)
    times_ms = [10 ** rng.uniform(-1, 4) for _ in range(1024)]
    context = {SCHEDULE_DELAY: 0.0015} if args.schedule else {}

    def per_fire_us(hook: EventHook) -> float:
        start = time.process_time()
        for i in range(args.calls):
            hook.fire(
                request_type="GET",
                name="/hello",
                response_time=times_ms[i & 1023],
                response_length=2,
                response=None,
                context=context,
                exception=None,
            )
        return (time.process_time() - start) * 1e6 / args.calls

    per_fire_us(with_), per_fire_us(without)  # warm up both
    for r in range(args.rounds):
        if r % 2 == 0:
            a, b = per_fire_us(with_), per_fire_us(without)
        else:
            b, a = per_fire_us(without), per_fire_us(with_)
        print(json.dumps({"with_us": a, "without_us": b}), flush=True)


if __name__ == "__main__":
    main()
