"""A user's own load and app, the parts that need no process: the `--requests` file and its
file:line errors, request names by route template, telling ASGI from WSGI apps, the env file."""

from pathlib import Path

import pytest

from loadlab.errors import LoadlabError
from loadlab.load import requests_file
from loadlab.load.user_env import Templates
from targets.app_import import AppError, describe, kind_of, load_env_file


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "requests.toml"
    path.write_text(text)
    return str(path)


def test_a_requests_file_reads_with_defaults(tmp_path):
    path = write(
        tmp_path,
        '[[request]]\npath = "/a"\n\n[[request]]\nmethod = "post"\npath = "/b?x=1"\nweight = 2.5\n'
        'headers = { X-Key = "k" }\njson = { n = 1 }\nname = "b"\n',
    )
    a, b = requests_file.load(path)
    assert (a.method, a.path, a.weight, a.headers, a.json, a.name) == ("GET", "/a", 1.0, {}, None, None)
    assert (b.method, b.weight, b.headers, b.json, b.name) == ("POST", 2.5, {"X-Key": "k"}, {"n": 1}, "b")


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ('[[request]]\npath = "/"\n\n[[request]]\nmethod = "FETCH"\npath = "/x"\n', 4, "method must be one of"),
        ('[[request]]\npath = "x"\n', 1, "path must be a string starting with /"),
        ('[[request]]\npath = "/"\nweight = 0\n', 1, "weight must be a number above 0"),
        ('[[request]]\npath = "/"\nweight = true\n', 1, "weight must be a number above 0"),
        ('[[request]]\npath = "/"\nheaders = { A = 1 }\n', 1, "headers must be a table of strings"),
        ('[[request]]\npath = "/"\nbody = "x"\n', 1, "unknown key 'body'"),
        ('[[request]]\npath = "/"\npath2 "x"\n', 3, "not valid TOML"),
        ('title = "x"\n', 1, "unknown key 'title'"),
        ("", 1, "no [[request]] table"),
    ],
)
def test_a_bad_line_is_named_by_file_and_line(tmp_path, text, where, what):
    path = write(tmp_path, text)
    with pytest.raises(LoadlabError) as caught:
        requests_file.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{where}: "), message
    assert what in message and "\n" not in message


def test_requests_are_named_by_the_route_template_they_match():
    names = Templates(["/items", "/items/{item_id}", "/items/new", "/notes/<int:note_id>", "/files/{p:path}"])
    assert names.name("/items?limit=20") == "/items"
    assert names.name("/items/7") == "/items/{item_id}"
    assert names.name("/items/new") == "/items/new"  # a literal route wins over a template
    assert names.name("/notes/3") == "/notes/<int:note_id>"
    assert names.name("/files/a/b/c") == "/files/{p:path}"
    assert names.name("/items/7/reviews") == "/items/7/reviews"  # no template: its own path
    assert Templates([]).name("/x?y=1") == "/x"


def test_asgi_and_wsgi_apps_are_told_apart_and_anything_else_is_described():
    async def asgi(scope, receive, send): ...

    class AsgiApp:
        async def __call__(self, scope, receive, send): ...

    def wsgi(environ, start_response): ...

    class WsgiApp:
        def __call__(self, environ, start_response): ...

    assert [kind_of(x) for x in (asgi, AsgiApp(), wsgi, WsgiApp())] == ["asgi", "asgi", "wsgi", "wsgi"]
    assert [kind_of(x) for x in (42, "app", AsgiApp, lambda: None, print)] == [None] * 5
    assert describe(42) == "an int" and describe({}) == "a dict"
    assert "class" in describe(AsgiApp) and "--factory" in describe(AsgiApp)
    assert describe(lambda: None) == "a callable of signature ()"


def test_the_env_file(tmp_path):
    path = tmp_path / "app.env"
    path.write_text("# settings\nexport A=1\nB = 'two words'\n\nC=\"x=y\"\n")
    assert load_env_file(str(path)) == {"A": "1", "B": "two words", "C": "x=y"}
    path.write_text("A=1\nnot a setting\n")
    with pytest.raises(AppError, match=r"app.env:2: expected KEY=VALUE"):
        load_env_file(str(path))


def test_the_model_of_gunicorn_sync_and_gthread_workers():
    from loadlab import model

    sync = model.wsgi_limit("gunicorn-sync", workers=2, threads=4, request_s=0.01)  # threads play no part
    assert (sync.rps, sync.binding) == (pytest.approx(200), "workers")
    gthread = model.wsgi_limit("gunicorn-gthread", workers=1, threads=4, request_s=0.01)
    assert (gthread.rps, gthread.binding) == (pytest.approx(400), "threads")
    with pytest.raises(LoadlabError, match="no WSGI model"):
        model.wsgi_limit("uvicorn", workers=1, threads=1, request_s=0.01)
