"""The one exception for requests the domain refuses.

A service raises :class:`DomainError` when the user asked for something impossible (a period
too far ahead, a metric that cannot be summed, a change of -100%): the user can fix it, so the
message is for them. The API answers it with 400 (one handler in ``salestarget/api.py``), pages
show it as a form error, commands as a ``CommandError``. Any other exception is a bug: the
API and the pages let it become a logged 500, so it is never shown as if it were advice.
"""

from __future__ import annotations

from typing import Any


class DomainError(ValueError):
    """A refused request, with a message for the user.

    ``message`` is translatable (``gettext_lazy``), with ``%(name)s`` placeholders filled from
    ``params``: it is translated when shown, in the language of whoever reads it.
    (A ``ValueError`` so that callers which check values keep treating it as one.)
    """

    def __init__(self, message: Any, **params: Any):
        super().__init__(message)
        self.message = message
        self.params = params

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text
