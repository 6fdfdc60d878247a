"""The one exception the CLI turns into a single line on stderr and an exit status."""

USAGE = 2  # bad arguments or an environment the command cannot work in
FAILED = 1  # the command ran and something it watched failed


class LoadlabError(Exception):
    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.status = status
