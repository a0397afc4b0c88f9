from django.db import models


class ReadVersion(models.Model):
    """One row whose token changes after every committed write to the app's data
    (``core.memo``): what was remembered under an older token is never read again."""

    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return self.token
