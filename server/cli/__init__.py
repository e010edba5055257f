"""The `coderef` command: the top of the stack, which nothing else imports."""

from .main import main

__all__ = ["main"]
