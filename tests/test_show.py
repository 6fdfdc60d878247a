"""`loadlab show` on results folders made by hand: a good one, an old one, and folders that are not one."""

import json
import subprocess
from pathlib import Path

from loadlab.results.folder import RunFolder
from loadlab.results.point import RunSummary
from tests.helpers import LOADLAB
from tests.unit.factories import point


def show(results: Path, run_id: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*LOADLAB, "show", run_id, "--results", str(results)], capture_output=True, text=True, timeout=60
    )


def write(results: Path, run_id: str, data: dict) -> None:
    (results / run_id).mkdir(parents=True)
    RunFolder(results / run_id).summary_file.write_text(json.dumps(data))


def test_show_prints_the_table_notes_and_verdicts(tmp_path):
    points = [
        point("io-sleep", "sync", rps=913.2),
        point("io-sleep", "async", rps=978.1, partial=True, untrustworthy_reasons=["generator CPU reached 95%"]),
    ]
    write(tmp_path, "r1", RunSummary("r1", "interrupted", 1.0, {}, points).to_dict())
    result = show(tmp_path, "r1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "run r1 (interrupted)"
    assert any(line.split()[:2] == ["sync", "io-sleep"] and "913.2" in line for line in lines), result.stdout
    assert "async-io-sleep: partial" in result.stdout
    assert "async-io-sleep: ! untrustworthy: generator CPU reached 95%" in result.stdout
    assert "C1 Sync endpoints serialise" in result.stdout and "[4 Uvicorn workers" in result.stdout  # not markup
    # the path of a run folder works as well as its id
    assert show(tmp_path / "elsewhere", str(tmp_path / "r1")).returncode == 0


def test_an_older_summary_or_a_folder_that_is_not_a_run_is_one_line_and_status_2(tmp_path):
    old = RunSummary("old", "complete", 1.0, {}, [point()]).to_dict()
    del old["schema_version"]
    write(tmp_path, "old", old)
    (tmp_path / "empty").mkdir()
    write(tmp_path, "garbled", {"schema_version": 1, "points": [{"point": "x"}]})
    for run_id, words in (
        ("old", ["older loadlab", "schema_version"]),
        ("empty", ["not a loadlab results folder"]),
        ("missing", ["no run 'missing'", "runs in"]),
        ("garbled", ["summary.json", "is missing"]),
    ):
        result = show(tmp_path, run_id)
        assert result.returncode == 2, (run_id, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
        assert all(w in result.stderr for w in words), result.stderr
