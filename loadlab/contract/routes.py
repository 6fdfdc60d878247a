"""Route templates shared by both targets, the scenario catalogue and Locust request names."""

HELLO = "/hello"
IO_SLEEP = "/io/sleep"
IO_SLEEP_ONE_TRIP = "/io/sleep-1trip"  # the sync target only: /io/sleep with one threadpool trip, not two
IO_DB = "/io/db"
IO_HTTP = "/io/http"
IO_FANOUT = "/io/fanout"
CPU = "/cpu"
CPU_OFFLOAD = "/cpu/offload"
BLOCKING_SLEEP = "/antipattern/blocking-sleep"
SYNC_HTTP = "/antipattern/sync-http"
HEALTHZ = "/healthz"
METRICS = "/metrics"

# Bounds of the query parameters, validated by both targets (422 outside them).
MS_MAX = 30_000
FANOUT_MAX = 20
CPU_N_MAX = 20_000_000
