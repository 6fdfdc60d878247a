"""The comparison as a section of the report (loadlab.report.compare_section), and in B's report
with `loadlab report B --compare A`."""

import pytest

from loadlab.report.compare_section import html_section
from loadlab.tuning import compare as cmp
from loadlab.tuning.comparison import RUN_MATCH
from loadlab.tuning.comparison_result import ONLY_B, Result, Row
from tests.unit.comparison_folders import config, loadlab_cli, slower_pair, steady, write_run, write_sweep


def test_html_section_is_a_table_with_escaped_text(tmp_path):
    result = Result("run", "<a>", "b&c", 0.1, RUN_MATCH, notes=['say "<b>"'])
    result.rows.append(Row("<script>x</script>", "rps", 1.0, 0.5, -0.5, 0.001, cmp.REGRESSION, "<why>", q_value=0.002))
    result.rows.append(Row("p<2", "", None, None, None, None, ONLY_B, "only"))
    text = html_section(result)
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert "<code>&lt;a&gt;</code>" in text and "b&amp;c" in text and "&lt;why&gt;" in text
    assert text.count("<table") == 1 and text.count("<tr") == 3  # the header and two rows
    assert 'class="verdict-only-in-B"' in text
    assert "<th>q (BH)</th>" in text and "<td>-50.0%</td>" in text and "<td>0.002</td>" in text
    assert "REGRESSED: 1 of 1 figures" in text
    # the verdict comes first, in the report's colours
    assert text.index('<p class="summary bad"><strong>REGRESSED: 1 of 1 figures') < text.index("<table")
    assert 'class="verdict-regression bad"' in text


# ---------------------------------------------------------------- the comparison as a section of B's report


def test_report_compare_adds_the_comparison_as_a_section_and_exits_0_on_a_regression(tmp_path, capsys):
    slower_pair(tmp_path)
    status, out, err = loadlab_cli(capsys, "report", "b", "--compare", "a", "--results", str(tmp_path))
    assert (status, err) == (0, "")
    report_file = tmp_path / "b" / "report.html"
    assert out.splitlines()[0].startswith(f"report: {report_file}")
    assert out.splitlines()[1].startswith("compared with a: REGRESSED: 1 of 5 figures")
    text = report_file.read_text()
    assert '<li><a href="#s-comparison-with-a">Comparison with a</a></li>' in text  # in the contents
    section = text[text.index('<section id="s-comparison-with-a"><h2>Comparison with a</h2>') :]
    assert section.index('<p class="summary bad"><strong>REGRESSED: 1 of 5 figures') < section.index("<table")
    assert "rps -30.0%" in section
    table = section[section.index('<table class="compare">') : section.index("</table>")]
    heads = ("point", "figure", "A", "B", "change", "95% interval", "floor", "q (BH)", "verdict")
    assert "".join(f"<th>{h}</th>" for h in heads) in table
    assert '<p class="method">Tests: single runs: rps and mean by a circular block bootstrap' in section
    body = table.split("<tr")[2:]
    assert len(body) == 5 and all("async io-sleep uvicorn-workers x4" in r for r in body)
    (rps,) = [r for r in body if "<td>rps</td>" in r]
    assert 'class="verdict-regression bad"' in rps and "<td>100.0</td><td>70.0</td><td>-30.0%</td>" in rps
    assert "<script" not in text and "http" not in text.replace("http_", "")
    # the same run against itself: no regression, the same section says so
    status, out, _ = loadlab_cli(
        capsys, "report", str(tmp_path / "a"), "--compare", str(tmp_path / "a"), "--out", str(tmp_path / "self.html")
    )
    assert status == 0 and "no regression: 5 figures of 1 points" in out
    assert '<p class="summary good"><strong>no regression: 5 figures' in (tmp_path / "self.html").read_text()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["a", "--compare", "missing"], ["no run 'missing'"]),
        (["a", "--compare", "empty"], ["not a loadlab results folder"]),
        (["a", "--compare", "sweep"], ["cannot compare a sweep (sweep) with a run (a)"]),
        (["sweep", "--compare", "a"], ["cannot compare a run (a) with a sweep (sweep)"]),
        (["a", "--compare", "other"], ["no point in common", "A: async cpu", "B: async io-sleep"]),
        (["empty", "--compare", "a"], ["not a loadlab results folder"]),
        (["a", "--compare", "a", "--threshold", "2"], ["between 0 and 1"]),
        (["a", "--compare", "a", "--match", "colour"], ["--match takes fields"]),
        (["a", "--threshold", "0.2"], ["--threshold and --match go with --compare"]),
        (["a", "--compare"], ["expected one argument"]),
    ],
)
def test_report_compare_bad_input_is_one_line_and_status_2(tmp_path, capsys, argv, words):
    write_run(tmp_path, "a", steady())
    write_run(tmp_path, "other", steady(scenario="cpu"))
    (tmp_path / "empty").mkdir()
    write_sweep(tmp_path, "sweep", config(1, 100.0))
    try:
        status, _, err = loadlab_cli(capsys, "report", *argv, "--results", str(tmp_path))
    except SystemExit as exc:  # argparse's own errors
        status, err = exc.code, capsys.readouterr().err
    assert status == 2, (argv, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err
    assert not list(tmp_path.glob("*/report.html"))  # nothing written
