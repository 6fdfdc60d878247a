"""Every `loadlab …` and `make …` command line README.md and docs/ show still works, so a renamed
flag, subcommand or make target breaks the build instead of a reader's first try.

What counts as a command line: in a fenced code block, every line (after an optional `$ ` prompt and
`VAR=value` prefixes, joined over trailing backslashes) that starts with `loadlab`, `.venv/bin/loadlab`
or `make`; outside code blocks, every inline code span that starts with one of those words.

How each is checked, without starting anything but `make -n`:
- `loadlab …` goes through the parser of `loadlab.cli.build_parser()` the way `main()` parses
  (`loadlab.cli.parse_args`): `loadlab compose loadtest …` has the rest parsed as `loadlab run`
  options. A usage error fails the test with file:line, the command and argparse's message.
- `make …` must name targets the Makefile defines and `make -n` (with the variables shown) must exit
  0; every `loadlab` line make would run, `ARGS` included, is then parsed as above.
- A synopsis (a line with `[--option …]` or `a|b` alternatives) is not a command: each `--option` in
  it must exist for its subcommand, and each `a|b|c` after an option must be among that option's
  choices.
- An inline `loadlab WORD` or `make WORD` alone names a subcommand (`loadlab show`) or a target
  (`make open-run`, whose variables the text gives elsewhere), which must exist.

Placeholders: anything in angle brackets (`<run_id>`, `<run A>`) stands for one argument and is
replaced by SAMPLE before parsing.
"""

import io
import os
import re
import shlex
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SAMPLE = "2026-11-26T10-00-00"  # what a <placeholder> stands for: a run id's shape
PLACEHOLDER = re.compile(r"<[^<>\n]+>")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE = re.compile(r"`([^`]+)`")
LEADER = re.compile(r"^(?:\$\s+)?(?:[A-Za-z_]\w*=\S*\s+)*(?=(?:\S*/)?loadlab\s|make(?:\s|$))")
SYNOPSIS = re.compile(r"\[--|\w\|\w")
SHELL_BREAKS = {"&", "&&", ";", "|", "||", ">", ">>", "2>", "2>&1"}
MAKE_ENV_DROP = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "ARGS", "RUN", "WORKERS_LOCUST", "VENV")


@dataclass(frozen=True)
class Shown:
    """One command line as a page shows it."""

    where: str  # page:line
    text: str
    kind: str  # "command", "synopsis" or "name"


def _kind(text: str, inline: bool) -> str:
    if SYNOPSIS.search(PLACEHOLDER.sub("", text)):
        return "synopsis"
    words = text.split()
    if inline and len(words) == 2 and words[0] in ("loadlab", "make"):
        return "name"
    return "command"


def shown_commands(page: Path) -> list[Shown]:
    """Every command line of one Markdown page, with where it is."""
    name = page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[Shown] = []
    in_fence = False
    paragraph: list[tuple[int, str]] = []

    def inline_spans() -> None:
        if not paragraph:
            return
        first = paragraph[0][0]
        text = "\n".join(line for _, line in paragraph)
        for m in INLINE.finditer(text):
            code = " ".join(m.group(1).split())
            if LEADER.match(code):
                found.append(Shown(f"{name}:{first + text[: m.start()].count(chr(10))}", code, _kind(code, True)))
        paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        number = i + 1
        i += 1
        if FENCE.match(line):
            inline_spans()
            in_fence = not in_fence
            continue
        if not in_fence:
            if line.strip():
                paragraph.append((number, line))
            else:
                inline_spans()
            continue
        text = line.strip()
        if not LEADER.match(text):
            continue
        while text.endswith("\\") and i < len(lines):
            text = text[:-1].rstrip() + " " + lines[i].strip()
            i += 1
        kind = _kind(text, False)
        if kind == "synopsis":  # its continuation lines are indented
            while i < len(lines) and lines[i][:1].isspace() and not FENCE.match(lines[i]):
                text += " " + lines[i].strip()
                i += 1
        found.append(Shown(f"{name}:{number}", text, kind))
    inline_spans()
    return found


def _words(text: str) -> list[str]:
    """The command's words: placeholders filled, the comment and anything after a shell operator cut."""
    words = shlex.split(PLACEHOLDER.sub(SAMPLE, text), comments=True)
    for n, word in enumerate(words):
        if word in SHELL_BREAKS:
            words = words[:n]
            break
    while words and (words[0] == "$" or re.match(r"^[A-Za-z_]\w*=", words[0])):
        words = words[1:]
    return words


def _parser():
    from loadlab.cli import build_parser  # the CLI's one entry point for its arguments

    return build_parser()


def parse_loadlab(argv: list[str]) -> str | None:
    """argparse's complaint about `loadlab ARGV`, or None when it parses (as main() parses it)."""
    from loadlab import cli

    err = io.StringIO()
    try:
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            if hasattr(cli, "parse_args"):  # main()'s own parsing, `compose loadtest` included
                cli.parse_args(argv, _parser())
            elif argv[:2] == ["compose", "loadtest"]:  # as main() once did it: the rest are `run` options
                _parser().parse_args(["run", *argv[2:]])
                _parser().parse_args(argv[:2])
            else:
                _parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code:  # --help exits 0: fine
            return err.getvalue().strip() or f"exit status {exc.code}"
    return None


def _subparsers(parser) -> dict:
    for action in parser._actions:
        if action.choices and hasattr(action, "add_parser"):
            return action.choices
    return {}


def check_synopsis(text: str) -> list[str]:
    """Each --option of the synopsis exists for its subcommand, and each a|b|c is among its choices."""
    words = PLACEHOLDER.sub(SAMPLE, text).split()[1:]
    parser, path = _parser(), []
    while words and words[0] in _subparsers(parser):
        parser = _subparsers(parser)[words[0]]
        path.append(words.pop(0))
    if not path:
        return [f"no subcommand: {' '.join(words[:1])!r} is not one of {sorted(_subparsers(_parser()))}"]
    if words and _subparsers(parser):
        return [f"`loadlab {' '.join(path)}` has no subcommand {words[0]!r}"]
    options = parser._option_string_actions
    problems = []
    rest = " ".join(words)
    for option in re.findall(r"(?<![\w-])(--[a-z][\w-]*)", rest):
        if option not in options:
            problems.append(f"`loadlab {' '.join(path)}` has no option {option}")
    for option, alternatives in re.findall(r"(--[a-z][\w-]*)[ =]([\w.-]+(?:\|[\w.-]+)+)", rest):
        choices = getattr(options.get(option), "choices", None)
        for value in alternatives.split("|"):
            if choices is not None and value not in choices:
                problems.append(f"{option} {value}: not among its choices {list(choices)}")
    return problems


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", makefile, flags=re.M))


def check_make(words: list[str]) -> list[str]:
    """`make WORDS`: its targets exist, `make -n` succeeds, and the loadlab lines it would run parse."""
    targets = [w for w in words if "=" not in w and not w.startswith("-")]
    missing = sorted(set(targets) - make_targets())
    if missing:
        return [f"the Makefile has no target {', '.join(missing)}"]
    env = {k: v for k, v in os.environ.items() if k not in MAKE_ENV_DROP}
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", *words], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    if dry.returncode:
        return [f"make -n exited {dry.returncode}: {dry.stderr.strip()}"]
    problems = []
    for line in dry.stdout.splitlines():
        run = _words(line) if line.strip() else []
        if run and run[0].endswith("/loadlab"):
            complaint = parse_loadlab(run[1:])
            if complaint:
                problems.append(f"make would run `{line.strip()}`: {complaint}")
    return problems


def check(shown: Shown) -> list[str]:
    """What is wrong with one shown command line; empty when nothing is."""
    if shown.kind == "synopsis":
        return check_synopsis(shown.text)
    words = _words(shown.text)
    if not words:
        return ["no command left after placeholders and comments"]
    if shown.kind == "name" and words[0] == "make":
        return [] if words[1] in make_targets() else [f"the Makefile has no target {words[1]}"]
    if words[0] == "make":
        return check_make(words[1:])
    if shown.kind == "name":
        subcommands = _subparsers(_parser())
        return [] if words[1] in subcommands else [f"no subcommand {words[1]!r}; there are {sorted(subcommands)}"]
    complaint = parse_loadlab(words[1:])
    return [complaint] if complaint else []


SHOWN = [shown for page in PAGES for shown in shown_commands(page)]


@pytest.mark.parametrize("shown", SHOWN, ids=[f"{s.where} {s.text[:60]}" for s in SHOWN])
def test_shown_command_still_works(shown: Shown) -> None:
    problems = check(shown)
    assert not problems, f"{shown.where}: `{shown.text}`\n  " + "\n  ".join(problems)


def test_the_pages_show_the_main_commands() -> None:
    readme = {s.text for s in SHOWN if s.where.startswith("README.md:")}
    for command in ("make setup", "make test", "make loadtest", "make sweep"):
        assert any(text == command or text.startswith(command + " ") for text in readme), command
    assert len(SHOWN) >= 40, f"only {len(SHOWN)} command lines found: is the extraction still working?"
    kinds = {s.kind for s in SHOWN}
    assert {"command", "synopsis", "name"} <= kinds


@pytest.mark.parametrize(
    "text",
    [
        "loadlab run --suite claims --duraton 30",  # a renamed flag
        "loadlab run --target sideways",  # a value outside the choices
        "loadlab compose loadtest --suite claims --warm-up 5",  # run options behind compose loadtest
        "loadlab shw <run_id>",  # a renamed subcommand
        'make loadtest ARGS="--duraton 30"',  # a flag passed through make
        "make load-test",  # a renamed target
    ],
)
def test_the_check_catches(text: str) -> None:
    assert check(Shown("example:1", text, _kind(text, False))), f"`{text}` passed the check"


def test_a_synopsis_with_a_renamed_option_or_choice_is_caught() -> None:
    assert check_synopsis("loadlab run [--duraton T]")
    assert check_synopsis("loadlab serve --target sync|async|both")
    assert not check_synopsis("loadlab serve --target sync|async [--threads T]")


def test_extraction_joins_continuations_and_reads_inline_code(tmp_path: Path) -> None:
    page = tmp_path / "example.md"
    text = (
        'Run `make loadtest ARGS="--duration 20"`, then `loadlab\nshow`.\n\n'
        "```sh\n$ .venv/bin/loadlab sweep --workers 1,2 \\\n    --target sync   # comment\ncurl x\n```\n"
        "```\nloadlab run [--users N]\n            [--rate R]\n```\n"
    )
    page.write_text(text, encoding="utf-8")
    got = [(s.where, s.text, s.kind) for s in shown_commands(page)]
    assert got == [
        ("example.md:1", 'make loadtest ARGS="--duration 20"', "command"),
        ("example.md:1", "loadlab show", "name"),
        ("example.md:5", "$ .venv/bin/loadlab sweep --workers 1,2 --target sync   # comment", "command"),
        ("example.md:10", "loadlab run [--users N] [--rate R]", "synopsis"),
    ]
