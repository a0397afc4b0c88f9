from django.db import models


class ReadVersion(models.Model):
    """One row whose token changes after every committed write that could change a figure
    (``tracking.memo``): figures remembered under an older token are never read again."""

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token
