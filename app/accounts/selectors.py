"""Reads on users."""

from functools import cache
from typing import Any

from django.db import connection

from accounts.models import User


def email_is_taken(*, email: str, exclude: User | None = None) -> bool:
    """True when another user already has this email, compared case-insensitively."""
    others = User.objects.filter(email__iexact=email)
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    return others.exists()


def user_get_by_email(*, email: str) -> User | None:
    """The active user with this email address, compared case-insensitively (one at most: the
    database's constraint), or None."""
    if not email.strip():
        return None
    return User.objects.filter(email__iexact=email.strip(), is_active=True).first()


def user_row_get_by_id(*, user_id: int | str) -> tuple[Any, ...] | None:
    """The user's row (its concrete fields' values, in the model's order), or None.

    The same row the ORM's `User.objects.get(pk=...)` reads, without building the query each
    time: that was a quarter of an authenticated request's time in Python (make bench).
    """
    with connection.cursor() as cursor:
        cursor.execute(_user_by_id_sql(), [user_id])
        row: tuple[Any, ...] | None = cursor.fetchone()
    return row


def user_from_row(row: tuple[Any, ...]) -> User:
    """A new User instance from a row user_row_get_by_id read, as the ORM builds one."""
    return User.from_db(connection.alias, _user_field_names(), row)


@cache
def _user_field_names() -> list[str]:
    return [field.attname for field in User._meta.concrete_fields]


@cache
def _user_by_id_sql() -> str:
    quote = connection.ops.quote_name
    meta = User._meta
    columns = ", ".join(f"{quote(meta.db_table)}.{quote(str(field.column))}" for field in meta.concrete_fields)
    table, pk = quote(meta.db_table), quote(str(meta.pk.column))
    # Only the model's own quoted names are formatted in; the id is a bound parameter.
    return f"SELECT {columns} FROM {table} WHERE {table}.{pk} = %s"  # noqa: S608
