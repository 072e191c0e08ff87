"""Logging: readable text for people, one JSON object per line for collectors."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from govmail.config import Settings

_STD = set(vars(logging.makeLogRecord({}))) | {"asctime", "color_message", "message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, this server's host name and
    process id (several nodes or processes feed one collector), then the record's extras
    (queue_id, service, account, check…)."""

    def __init__(self, host: str = "") -> None:
        super().__init__()
        self.host = host

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "host": self.host,
            "pid": record.process,
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STD and k != "message"})
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extra = {k: v for k, v in vars(record).items() if k not in _STD and k != "message"}
        return base + ("".join(f" {k}={v}" for k, v in extra.items()) if extra else "")


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.general.log_format == "json":
        handler.setFormatter(JsonFormatter(settings.general.hostname))
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.general.log_level)
    for noisy in ("alembic", "uvicorn.error", "aiosqlite", "pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # aiosmtpd logs every connection and warns about our own (deliberate) AUTH/TLS set-up.
    logging.getLogger("mail.log").setLevel(max(logging.ERROR, root.level))
