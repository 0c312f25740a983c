from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower


class User(AbstractUser):
    """The project's user: a custom model from day one, so fields can be added later without a rewrite.

    https://docs.djangoproject.com/en/5.2/topics/auth/customizing/#using-a-custom-user-model-when-starting-a-project
    """

    # Carried by every token (accounts/tokens.py); bumped by a password change and by a
    # deactivation (accounts/signals.py), which refuses every token minted before.
    token_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta(AbstractUser.Meta):
        constraints = [
            # One account per email address, whatever its case; users without an email are exempt.
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="accounts_user_email_ci_unique"
            ),
        ]
