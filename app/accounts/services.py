from accounts.models import User


def user_ensure(*, username: str, password: str) -> tuple[User, bool]:
    """Create the user, or reset its password and reactivate it; return it and whether it was created."""
    user, created = User.objects.get_or_create(username=username)
    user.set_password(password)
    user.is_active = True
    user.save()
    return user, created
