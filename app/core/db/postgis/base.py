"""Django's PostGIS backend with the socket health check of core/db/postgresql (its docstring says why).

Selected by a postgis:// DATABASE_URL. GeoDjango needs the GDAL and GEOS libraries in the image.
"""

from django.contrib.gis.db.backends.postgis import base

from core.db.postgresql.base import SocketHealthCheck


class DatabaseWrapper(SocketHealthCheck, base.DatabaseWrapper):
    pass
