"""Reads on users: the plain-SQL lookup authentication uses on every request."""

from django.forms.models import model_to_dict

from accounts.models import User
from accounts.selectors import user_from_row, user_row_get_by_id


def test_the_plain_sql_row_builds_the_same_user_as_the_orm(user: User) -> None:
    user.first_name, user.is_staff = "Alice", True
    user.save()

    row = user_row_get_by_id(user_id=user.pk)
    assert row is not None
    found = user_from_row(row)

    assert not found._state.adding
    assert model_to_dict(found) == model_to_dict(User.objects.get(pk=user.pk))
    assert (found.date_joined, found.password) == (user.date_joined, user.password)


def test_an_unknown_id_has_no_row(db: None) -> None:
    assert user_row_get_by_id(user_id=987654) is None
