"""A small Flask (WSGI) notes service, for Gunicorn's sync and gthread workers (docs/your-service.md):

    loadlab run --app-dir examples --app notes.app:app --server gunicorn-gthread --threads 4 \\
        --health /health --requests examples/notes/requests.toml

Each request waits NOTES_IO_MS (default 10) as if it called a database: a sync worker serves one
request at a time, so that wait bounds it at 1000/NOTES_IO_MS requests a second per worker; gthread
overlaps as many as it has threads. Notes live in the worker's memory.
"""

import itertools
import os
import threading
import time

from flask import Flask, abort, jsonify, request

IO_S = int(os.environ.get("NOTES_IO_MS", "10")) / 1000

app = Flask(__name__)
_lock = threading.Lock()
_ids = itertools.count(1)
_notes: dict[int, dict] = {}


def _io() -> None:
    time.sleep(IO_S)


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/notes")
def list_notes():
    _io()
    with _lock:
        return jsonify(list(_notes.values())[-20:])


@app.get("/notes/<int:note_id>")
def get_note(note_id: int):
    _io()
    with _lock:
        note = _notes.get(note_id)
    if note is None:
        abort(404)
    return note


@app.post("/notes")
def add_note():
    body = request.get_json(silent=True) or {}
    text = body.get("text")
    if not isinstance(text, str) or not text:
        abort(422)
    _io()
    with _lock:
        note = {"id": next(_ids), "text": text}
        _notes[note["id"]] = note
    return note, 201
