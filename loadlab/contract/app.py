"""A user's own app as loadlab serves it: the environment that tells `targets.wrapped` which app to
import and how, shared by the servers that start it (loadlab.stack) and the wrapper inside them."""

APP_ENV = "LOADLAB_APP"  # package.module:attr (attr may be dotted), as Uvicorn takes it
APP_DIR_ENV = "LOADLAB_APP_DIR"  # put first on sys.path before the import ("" : the working directory)
APP_FACTORY_ENV = "LOADLAB_APP_FACTORY"  # "1": attr is a function of no arguments that returns the app
APP_ENV_FILE_ENV = "LOADLAB_APP_ENV_FILE"  # KEY=VALUE lines put in the app's environment before its import

WRAPPED_APP = "targets.wrapped:app"  # what every server kind serves for a user's app
ASGI, WSGI = "asgi", "wsgi"


def app_env(ref: str, app_dir: str | None, factory: bool, env_file: str | None) -> dict[str, str]:
    """The environment of a server that serves the user's app `ref` through the wrapper."""
    return {
        APP_ENV: ref,
        APP_DIR_ENV: app_dir or "",
        APP_FACTORY_ENV: "1" if factory else "",
        APP_ENV_FILE_ENV: env_file or "",
    }


def app_name(ref: str) -> str:
    """The `target` label of an app: its top package (`myservice` of `myservice.main:app`)."""
    return ref.split(":", 1)[0].split(".", 1)[0]
