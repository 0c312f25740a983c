"""Gunicorn's logs as JSON lines, like Django's. The access line has no query string and no body."""

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from gunicorn.glogging import Logger

from core.logging import JsonFormatter
from core.network import client_address


# gunicorn ships no type hints, so its Logger is Any to mypy.
class JsonLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.cfg.accesslog:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        entry = {
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S%z"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "request_id": environ.get("HTTP_X_REQUEST_ID", "-"),
            "client": client_address(environ) or "-",
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status),
            "bytes": getattr(resp, "sent", 0),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
        }
        self.access_log.log(logging.INFO, json.dumps(entry, ensure_ascii=False))
