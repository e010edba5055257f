"""Exceptions with messages a user can act on, and the exit code each maps to."""


class CoderefError(Exception):
    """Base of every error coderef reports to a person."""

    exit_code = 2
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class DataError(CoderefError):
    """An RDF file could not be read: names the file and the line."""

    exit_code = 2
    status = 500

    def __init__(self, path, line, message: str):
        self.path = str(path)
        self.line = line
        where = f"{self.path}, line {line}" if line else self.path
        super().__init__(f"{where}: {message}")


class ConfigError(CoderefError):
    """The configuration points at something that is not there."""

    exit_code = 2


class BadRequest(CoderefError):
    """A parameter, query or body is malformed (HTTP 400)."""

    status = 400
    exit_code = 2


class NotFound(CoderefError):
    """An unknown code, question or resource (HTTP 404)."""

    status = 404
    exit_code = 2


class Forbidden(CoderefError):
    """A request the read-only service refuses (update, SERVICE, LOAD; HTTP 403)."""

    status = 403
    exit_code = 2


class NotAcceptable(CoderefError):
    """No representation matches the Accept header (HTTP 406)."""

    status = 406
    exit_code = 2


class QueryTimeout(CoderefError):
    """A query ran past its time limit (HTTP 503)."""

    status = 503
    exit_code = 2


class StoreUnavailable(CoderefError):
    """The SPARQL endpoint behind the remote store did not answer (HTTP 503)."""

    status = 503
    exit_code = 2


class NotConforming(CoderefError):
    """The data parses but breaks a SHACL shape: exit 1, like `coderef validate`."""

    exit_code = 1
    status = 500
