"""Locust's web UI behind a login, with Locust's own `--web-login`: one user, `admin`, whose password
is LOCUST_WEB_PASSWORD (no default). The compose stack's Locust master loads this file as a second
locustfile (`-f locustfiles/closed_model.py,loadlab/load/web_login.py --web-login`).

It defines no users and does nothing where there is no web UI or no `--web-login` (workers, which
get it from their master, and every headless run). With `--web-login` and no password, the master
stops before it listens, in one line.

The session cookie is signed with a key made at start (a restarted master asks to log in again),
HttpOnly and SameSite=Strict, so another site's page cannot drive a logged-in browser's UI.
"""

import hmac
import os
import secrets

from flask import Blueprint, redirect, request, session, url_for
from flask_login import UserMixin, login_user
from locust import events

USERNAME = "admin"
PASSWORD_VARIABLE = "LOCUST_WEB_PASSWORD"
REFUSED = "Invalid username or password"


class _Admin(UserMixin):
    def get_id(self) -> str:
        return USERNAME


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@events.init.add_listener
def _require_login(environment, web_ui=None, **_kwargs) -> None:
    if web_ui is None or not web_ui.web_login:
        return
    password = os.environ.get(PASSWORD_VARIABLE, "")
    if not password:
        raise SystemExit(f"locust --web-login: set {PASSWORD_VARIABLE} (the web UI's password; no default)")
    web_ui.app.config.update(
        SECRET_KEY=secrets.token_hex(32), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict"
    )
    web_ui.login_manager.user_loader(lambda user_id: _Admin() if user_id == USERNAME else None)
    base = environment.parsed_options.web_base_path or ""
    web_ui.auth_args = {"username_password_callback": f"{base}/login_submit"}
    blueprint = Blueprint("loadlab_login", __name__, url_prefix=base or None)

    @blueprint.route("/login_submit", methods=["POST"])
    def login_submit():
        # both compared in constant time, always both: the answer does not tell which one was wrong
        user_ok = _same(request.form.get("username", ""), USERNAME)
        password_ok = _same(request.form.get("password", ""), password)
        if user_ok and password_ok:
            login_user(_Admin())
            return redirect(url_for("locust.index"))
        session["auth_error"] = REFUSED
        return redirect(url_for("locust.login"))

    web_ui.app.register_blueprint(blueprint)
