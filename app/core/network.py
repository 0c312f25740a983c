from collections.abc import Mapping
from typing import Any


def client_address(meta: Mapping[str, Any]) -> str:
    """The client's address from a request's META or a WSGI environ: the X-Forwarded-For entry Nginx
    wrote (it overwrites, never appends), else the peer's address."""
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", ""))
    return forwarded.split(",")[-1].strip() or str(meta.get("REMOTE_ADDR", ""))
