"""The well-known ports of the lab: where a person finds a server started by hand (`loadlab serve`,
`make serve`) and what the compose stack's containers listen on. A run picks free ports instead."""

TARGET_PORT = 8000  # `loadlab serve`, and each target container
TARGET_METRICS_PORT = 9000  # each target container's metrics port (`loadlab serve --metrics-port`)
UPSTREAM_PORT = 8010  # `loadlab serve-upstream`, and the upstream container
LOCUST_MASTER_PORT = 5557  # Locust's own default: its workers find the master there
