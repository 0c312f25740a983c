"""Reads on users: the plain-SQL lookup authentication uses on every request."""

from django.forms.models import model_to_dict

from accounts.models import User
from accounts.selectors import user_get_by_id


def test_user_get_by_id_reads_the_same_user_as_the_orm(user: User) -> None:
    user.first_name, user.is_staff = "Alice", True
    user.save()

    found = user_get_by_id(user_id=user.pk)

    assert found is not None and not found._state.adding
    assert model_to_dict(found) == model_to_dict(User.objects.get(pk=user.pk))
    assert (found.date_joined, found.password) == (user.date_joined, user.password)


def test_user_get_by_id_is_none_for_an_unknown_id(db: None) -> None:
    assert user_get_by_id(user_id=987654) is None
