"""`loadlab sweep`: each configuration's capacity under the SLO, the model beside it, a recommendation.

    matrix (server × workers × threads × DB pool × target × scenario)
      -> for each configuration (loadlab.sweep.configuration): a capacity search and its
         confirmations (loadlab.tuning.search), one step at a time, in one `loadlab run` (one
         Prometheus, one upstream) whose point is measured again at each rate the search asks
         for: results/<sweep_id>/steps/<config>/, each step judged by loadlab.judge.capacity
      -> the capacity as an interval, [held every time, broke]
      -> results/<sweep_id>/sweep.json after every step (loadlab.results.sweep)
      -> the model, the USL and the recommendation (loadlab.tuning.analysis), printed and stored

The open model is used so that overload shows as latency and late requests rather than being
absorbed by users waiting for answers. Re-running the same command resumes: finished
configurations are skipped, and an unfinished one replays its stored steps and measures on (in a
new run folder, `<config>.2`). A step costs its warm-up and duration, its target's start and its
drain; a configuration adds one stack start (Prometheus finds its first target within about 5 s).
"""

import json
import math
import os
import time
from dataclasses import asdict
from pathlib import Path

from loadlab import durations
from loadlab.errors import LoadlabError
from loadlab.results.folder import write_text
from loadlab.results.sweep import ConfigResult, SweepFolder, SweepSummary
from loadlab.stack import database
from loadlab.sweep.configuration import ConfigSearch, capacity_line
from loadlab.sweep.settings import SweepConfig
from loadlab.tuning import analysis


def postgres_max_connections() -> int | None:
    """PostgreSQL's max_connections where the targets will connect, as that server says; None when none
    answers there: each run then starts its own, and its first run's summary says (`asked_by_runs`)."""
    from loadlab.contract.settings import Settings

    return database.max_connections(Settings().database_url)


class Sweep:
    def __init__(self, config: SweepConfig) -> None:
        self.config = config
        self.folder = Path(config.results_root).resolve() / config.sweep_id
        self.layout = SweepFolder(self.folder)
        self.settings = config.search()
        self.step_times: list[float] = []  # wall seconds per measured step, for the ETA
        self.max_connections = None if config.own else postgres_max_connections()  # a user's app: no model

    def open(self) -> SweepSummary:
        """A new sweep folder, or the stored sweep to resume (same matrix and search settings)."""
        asked = {k: v for k, v in asdict(self.config).items() if k not in ("sweep_id", "results_root")}
        asked = json.loads(json.dumps(asked))  # as sweep.json stores it (a user's app's tuples as lists)
        if self.layout.summary_file.exists():
            summary = SweepSummary.read(self.folder)
            if summary.settings != asked:
                changed = sorted(k for k in asked if summary.settings.get(k) != asked[k])
                raise LoadlabError(
                    f"{self.folder} holds a sweep with other settings ({', '.join(changed)}): "
                    "resume it with the same options, or pick another --sweep-id"
                )
            summary.status = "running"
            return summary
        if self.folder.exists():
            raise LoadlabError(f"{self.folder} exists and is not a sweep; pick another --sweep-id")
        self.layout.steps_dir.mkdir(parents=True)
        summary = SweepSummary(self.config.sweep_id, "running", time.time(), asked, os.cpu_count() or 1)
        self.save(summary)
        return summary

    def save(self, summary: SweepSummary) -> None:
        write_text(self.layout.summary_file, summary.to_json())

    def run(self, progress, summary: SweepSummary | None = None) -> SweepSummary:
        summary = summary or self.open()
        configurations = self.config.configurations()
        for c in configurations:
            if summary.find(c) is None:
                summary.configs.append(ConfigResult(c))
        self.save(summary)
        searcher = ConfigSearch(self.config, self.layout, lambda: self.save(summary), progress)
        try:
            for i, c in enumerate(configurations):
                result = summary.find(c)
                assert result is not None
                title = f"[{i + 1}/{len(configurations)}]"
                if result.done:
                    progress(f"{title} {c.label}: done before, {capacity_line(result)}")
                    continue
                left = len(configurations) - i
                per_step = searcher.search(summary, result, title, lambda left=left: self.eta(left))
                if per_step is not None:
                    self.step_times.append(per_step)
                if self.max_connections is None:
                    self.max_connections = self.asked_by_runs(result)
                analysis.analyse(summary, self.max_connections)
                self.save(summary)
        except KeyboardInterrupt:
            summary.status = "interrupted"
            raise
        except LoadlabError:
            summary.status = "failed"
            raise
        else:
            summary.status = "complete"
        finally:
            analysis.analyse(summary, self.max_connections)
            summary.ended_at = time.time()
            self.save(summary)
        return summary

    def asked_by_runs(self, result: ConfigResult) -> int | None:
        """max_connections as the PostgreSQL of this configuration's runs said: the private one a run
        starts where none answered before the sweep (None when its runs did not ask)."""
        for step in reversed(result.steps):
            run = self.layout.step_run(step.run_id)
            if run.holds_run(run.path) and (said := run.summary().database_max_connections) is not None:
                return said
        return None

    def eta(self, left: int) -> str:
        """Remaining time for `left` configurations, from the steps so far (a search takes about
        log2(range) + bisections steps)."""
        if not self.step_times:
            return ""
        per_step = sum(self.step_times) / len(self.step_times)
        steps_per_config = (
            math.ceil(math.log(self.settings.max_rate / self.settings.start, self.settings.factor)) // 2
            + 4
            + 2 * self.settings.confirm
        )
        return f"  (about {durations.render(per_step * steps_per_config * left)} left)"
