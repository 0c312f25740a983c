from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The project's user: a custom model from day one, so fields can be added later without a rewrite.

    https://docs.djangoproject.com/en/5.2/topics/auth/customizing/#using-a-custom-user-model-when-starting-a-project
    """
