from django.db import connection
from django.db.utils import DatabaseError


def database_is_available() -> bool:
    """Return True when the default database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return bool(cursor.fetchone() == (1,))
    except DatabaseError:
        return False
