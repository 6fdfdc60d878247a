"""The table printed at the end of a run and by `loadlab show`: each point's trust, unknown included."""

import json
from dataclasses import replace

from loadlab.console.table import console, notes, show
from loadlab.results.folder import RunFolder
from loadlab.results.point import RunSummary
from tests.unit.factories import point


def printed(summary: RunSummary) -> str:
    out = console()
    with out.capture() as captured:
        show(summary, out)
    return captured.get()


def test_a_point_whose_trust_cannot_be_judged_says_so_and_what_is_missing():
    points = [
        point("io-sleep", "sync"),
        point("blocking-sleep", "async", server_requests=None),  # its scrapes timed out
        point("io-sleep", "async", untrustworthy_reasons=["generator CPU reached 95%"]),
    ]
    assert notes(points) == [
        "  async-blocking-sleep: ? trust unknown: no server request count",
        "  async-io-sleep: ! untrustworthy: generator CPU reached 95%",
    ]
    assert "  sync-io-sleep:" not in printed(RunSummary("r", "complete", 0.0, {}, points))  # trusted: no note


def test_an_older_summary_without_generator_cpu_reads_as_unknown(tmp_path):
    data = RunSummary("r", "complete", 0.0, {}, [point()]).to_dict()
    del data["points"][0]["generator_cpu_max"]  # written before the generator's CPU was measured
    folder = RunFolder(tmp_path)
    folder.summary_file.write_text(json.dumps(data))
    summary = folder.summary()
    assert "async-io-sleep: ? trust unknown: no generator CPU measured" in printed(summary)


def test_a_run_of_a_users_app_leaves_out_the_articles_claims_and_the_labs_findings():
    users_point = replace(point("io-sleep", "dsapp"), point="dsapp-requests", scenario="requests", route="")
    own = printed(RunSummary("r", "complete", 0.0, {}, [users_point]))
    assert "dsapp" in own and "Published claims" not in own and "Measured findings" not in own
    lab = printed(RunSummary("r", "complete", 0.0, {}, [point("io-sleep", "async")]))
    assert "Published claims" in lab and "Measured findings" in lab
