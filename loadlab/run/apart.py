"""Locust workers started apart from the run (`--expect-workers`, the compose stack's, `loadlab
worker` on other machines): each point's master lists the workers that joined it in a file
(loadlab.load.handshake), read here for the point's result and for the message when too few came."""

import json
from pathlib import Path

from loadlab.results.folder import RunFolder


def workers_file(folder: RunFolder, point_id: str) -> Path:
    return folder.log(f"{point_id}-workers.json")


def joined(path: Path) -> list[dict]:
    """What each worker said when it joined (host, address, fingerprint, refused); [] if none did."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return []


def took_part(path: Path) -> list[str]:
    """`host (address)` of every worker the master kept, sorted."""
    return sorted(f"{w['host']} ({w['address']})" for w in joined(path) if not w["refused"])


def arrivals(path: Path) -> str:
    """`1 arrived: h1 (10.0.0.3); 1 refused: h2 (10.0.0.4): master has ..., this worker ...`."""
    came = took_part(path)
    line = f"{len(came)} arrived" + (f": {', '.join(came)}" if came else "")
    for w in joined(path):
        if w["refused"]:
            line += f"; refused {w['host']} ({w['address']}): {w['fingerprint']}"
    return line
