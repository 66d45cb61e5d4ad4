"""Structured events: one JSON line per event on a stream (stderr by default), optionally copied to SNS.

Every event carries ``ts`` (ISO 8601 UTC), ``event`` and ``database_id``; what happened goes in the other
fields. On-call subscribes to the SNS topic; the log pipeline reads the JSON lines.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any, TextIO

from functions.dr.clock import Clock


class Events:
    def __init__(
        self,
        clock: Clock,
        database_id: str,
        *,
        stream: TextIO | None = None,
        sns: Any = None,
        topic_arn: str | None = None,
    ) -> None:
        self.clock = clock
        self.database_id = database_id
        self.stream = stream or sys.stderr
        self.sns = sns
        self.topic_arn = topic_arn
        self.emitted: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    def emit(self, event: str, level: str = "info", *, notify: bool = False, **fields: Any) -> dict[str, Any]:
        """Writes the event; with ``notify`` (promotions, holds, failures) also publishes it to the SNS topic.

        An SNS outage never stops a failover: the failure is logged as its own event and kept in ``warnings``.
        """
        record = {
            "ts": dt.datetime.fromtimestamp(self.clock.wall(), dt.UTC).isoformat(),
            "level": level,
            "event": event,
            "database_id": self.database_id,
            **fields,
        }
        self.emitted.append(record)
        self.stream.write(json.dumps(record, default=str, sort_keys=True) + "\n")
        self.stream.flush()
        if notify and self.sns is not None and self.topic_arn:
            try:
                self.sns.publish(
                    TopicArn=self.topic_arn,
                    Subject=f"dr {event} ({self.database_id})"[:100],
                    Message=json.dumps(record, default=str, sort_keys=True),
                    MessageAttributes={"event": {"DataType": "String", "StringValue": event}},
                )
            except Exception as err:  # any botocore/network failure: report, never abort the failover
                warning = f"sns publish to {self.topic_arn} failed: {err}"
                self.warnings.append(warning)
                self.stream.write(json.dumps({"event": "notify_failed", "level": "warning", "error": warning}) + "\n")
        return record
