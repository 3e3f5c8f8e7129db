"""SageMaker data capture for local endpoints: a queue and a writer thread.

The request path only decides whether a request is sampled and appends a tuple to a list
(no JSON, no I/O); the writer thread turns queued events into SageMaker's capture lines
(FORMATS.md §1) and writes one JSONL object per hour bucket per flush to:

    {DestinationS3Uri}/{endpoint}/{variant}/yyyy/mm/dd/hh/{MM}-{SS}-{mmm}-{uuid4}.jsonl

Objects are written atomically through the store, at most every ``flush_interval`` seconds
or when ``max_batch`` events are waiting, whichever is first. `CaptureWriter.flush`
blocks until every event submitted before the call is in the store, and
`CaptureWriter.close` drains the queue before it returns, so an accepted, sampled
request's record is never dropped on a clean shutdown (SIGTERM, idle timeout, delete). A
``SIGKILL`` can lose at most the last ``flush_interval`` seconds of events.

Write failures (a full disk: ``ENOSPC``, a store error) never drop records silently: each
object is tried 5 times with backoff; one that still fails is **held in memory** (up to
``max_held_bytes``, 64 MiB by default) and retried before every later write, and written
as soon as the store accepts it again. Only past that bound, or when the writer closes
with objects still unwritable, are the oldest held records dropped, and then they are
counted (`CaptureWriter.dropped`). `CaptureWriter.stats` reports the counts
(the endpoint server records them as ``CaptureStats`` on the endpoint's record, so
``Endpoint.describe()`` shows them) and ``on_stats`` is called whenever they change
because of a failure or a recovery.
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

__all__ = ["CaptureWriter", "capture_line", "capture_record", "encoding_for"]

# (wall time, input bytes, input content type, output bytes, output content type, inference id)
Event = tuple[float, bytes, str, bytes | None, str | None, str | None]


def encoding_for(content_type: str, csv_types: tuple[str, ...], json_types: tuple[str, ...]) -> str:
    """``CSV``, ``JSON`` or ``BASE64`` for a content type (parameters such as charset ignored)."""
    mt = content_type.split(";", 1)[0].strip().lower()
    if mt in csv_types:
        return "CSV"
    if mt in json_types:
        return "JSON"
    return "BASE64"


def _payload(
    data: bytes,
    content_type: str,
    mode: str,
    csv_types: tuple[str, ...],
    json_types: tuple[str, ...],
) -> dict[str, str]:
    enc = encoding_for(content_type, csv_types, json_types)
    if enc != "BASE64":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            enc = "BASE64"
    if enc == "BASE64":
        text = base64.b64encode(data).decode("ascii")
    return {"observedContentType": content_type, "mode": mode, "data": text, "encoding": enc}


def capture_record(
    event: Event,
    *,
    capture_input: bool = True,
    capture_output: bool = True,
    csv_types: tuple[str, ...] = ("text/csv",),
    json_types: tuple[str, ...] = ("application/json",),
    event_id: str | None = None,
) -> dict[str, Any]:
    """One capture record, shaped exactly as SageMaker writes it."""
    at, in_body, in_type, out_body, out_type, inference_id = event
    data: dict[str, Any] = {}
    if capture_input:
        data["endpointInput"] = _payload(in_body, in_type, "INPUT", csv_types, json_types)
    if capture_output and out_body is not None:
        data["endpointOutput"] = _payload(
            out_body, out_type or "application/octet-stream", "OUTPUT", csv_types, json_types
        )
    meta: dict[str, Any] = {
        "eventId": event_id or str(uuid.uuid4()),
        "inferenceTime": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if inference_id:
        meta["inferenceId"] = inference_id
    return {"captureData": data, "eventMetadata": meta, "eventVersion": "0"}


_enc = json.encoder.encode_basestring_ascii  # what json.dumps uses for str (C-accelerated)


def _payload_json(
    data: bytes,
    content_type: str,
    mode: str,
    csv_types: tuple[str, ...],
    json_types: tuple[str, ...],
) -> str:
    p = _payload(data, content_type, mode, csv_types, json_types)
    return (
        f'{{"observedContentType":{_enc(p["observedContentType"])},"mode":"{mode}",'
        f'"data":{_enc(p["data"])},"encoding":"{p["encoding"]}"}}'
    )


def capture_line(
    event: Event,
    event_id: str,
    inference_time: str,
    *,
    capture_input: bool,
    capture_output: bool,
    csv_types: tuple[str, ...],
    json_types: tuple[str, ...],
) -> str:
    """One capture record as compact JSON text, byte-for-byte what
    ``json.dumps(capture_record(...), separators=(",", ":"))`` gives, built with less work
    (the writer thread shares the GIL with the request path)."""
    _, in_body, in_type, out_body, out_type, inference_id = event
    parts = []
    if capture_input:
        parts.append(
            '"endpointInput":' + _payload_json(in_body, in_type, "INPUT", csv_types, json_types)
        )
    if capture_output and out_body is not None:
        parts.append(
            '"endpointOutput":'
            + _payload_json(
                out_body, out_type or "application/octet-stream", "OUTPUT", csv_types, json_types
            )
        )
    meta = f'"eventId":"{event_id}","inferenceTime":"{inference_time}"'
    if inference_id:
        meta += f',"inferenceId":{_enc(inference_id)}'
    return (
        '{"captureData":{'
        + ",".join(parts)
        + '},"eventMetadata":{'
        + meta
        + '},"eventVersion":"0"}'
    )


class CaptureWriter:
    """Writes sampled request/response pairs as capture JSONL, off the request path.

    Args:
        store: The object store (``put_bytes``).
        prefix: ``{DestinationS3Uri}/{endpoint}/{variant}`` (no trailing slash needed).
        sampling_percentage: 0-100.
        capture_input: Record request payloads.
        capture_output: Record response payloads.
        csv_types: Content types captured as CSV text.
        json_types: Content types captured as JSON text.
        flush_interval: Longest time an event waits in memory, in seconds.
        max_batch: Events that trigger a write before the interval ends.
        seed: Seed of the sampling generator (``None``: random).
        max_held_bytes: Most bytes of unwritable capture objects kept in memory for retry.
        on_stats: Called with `stats` after a write failure, a recovery and at close.
        retry_delay: First backoff between the tries of one write, in seconds (doubling).
    """

    def __init__(
        self,
        store: Any,
        prefix: str,
        *,
        sampling_percentage: float = 100.0,
        capture_input: bool = True,
        capture_output: bool = True,
        csv_types: tuple[str, ...] = ("text/csv",),
        json_types: tuple[str, ...] = ("application/json",),
        flush_interval: float = 1.0,
        max_batch: int = 5000,
        seed: int | None = None,
        max_held_bytes: int = 64 * 1024 * 1024,
        on_stats: Any = None,
        retry_delay: float = 0.05,
    ) -> None:
        self.store = store
        self.prefix = prefix.rstrip("/")
        self.percentage = float(sampling_percentage)
        self.capture_input = capture_input
        self.capture_output = capture_output
        self.csv_types = tuple(t.lower() for t in csv_types)
        self.json_types = tuple(t.lower() for t in json_types)
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self._rng = random.Random(seed)
        self._pending: list[Event] = []
        self._cond = threading.Condition()
        self._submitted = 0
        self._written = 0
        self._flush_wanted = False
        self._closed = False
        self.errors: list[str] = []
        self.objects_written = 0
        self.max_held_bytes = max_held_bytes
        self.on_stats = on_stats
        self.retry_delay = retry_delay
        self._attempted = 0
        self._passes = 0
        self._held: list[tuple[str, bytes, int]] = []  # (uri, payload, events)
        self._held_bytes = 0
        self.dropped = 0
        self.write_errors = 0
        self._thread = threading.Thread(target=self._run, name="smkit-capture", daemon=True)
        self._thread.start()

    def sampled(self) -> bool:
        """Whether the next request is captured (a Bernoulli draw at the percentage)."""
        if self.percentage >= 100.0:
            return True
        if self.percentage <= 0.0:
            return False
        return self._rng.random() * 100.0 < self.percentage

    def submit(self, event: Event) -> None:
        """Queue one event (called on the request path; never blocks on I/O)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("capture writer is closed")
            self._pending.append(event)
            self._submitted += 1
            if len(self._pending) >= self.max_batch:
                self._cond.notify_all()

    @property
    def submitted(self) -> int:
        """Events accepted so far."""
        return self._submitted

    @property
    def written(self) -> int:
        """Events written to the store so far."""
        return self._written

    @property
    def held(self) -> int:
        """Events whose capture object could not be written yet (kept in memory for retry)."""
        return sum(n for _, _, n in self._held)

    def stats(self) -> dict[str, Any]:
        """``Submitted``, ``Written``, ``Held`` (in memory, awaiting retry), ``Dropped``,
        ``WriteErrors`` (failed tries) and ``LastError``."""
        with self._cond:
            return {
                "Submitted": self._submitted,
                "Written": self._written,
                "Held": self.held,
                "Dropped": self.dropped,
                "WriteErrors": self.write_errors,
                "LastError": self.errors[-1] if self.errors else None,
            }

    def _report(self) -> None:
        if self.on_stats is not None:
            try:
                self.on_stats(self.stats())
            except Exception as exc:  # reporting must never stop the writer
                self.errors.append(f"stats report failed: {exc}")

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Block until every event submitted before this call is written.

        Returns:
            ``True`` when done; ``False`` if ``timeout`` passed first or some events could
            not be written (they are held for retry, see `stats`).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            first_pass = self._passes + 2  # a whole pass that starts after this call
            # with records held, wait for that whole pass: it retries them and then reports
            # the new counts (a wait that ended when the held list emptied returned before
            # the report, so the endpoint's CaptureStats could still show the old counts)
            had_held = bool(self._held)
            self._flush_wanted = True
            self._cond.notify_all()
            while self._attempted < target or (
                (had_held or self._held) and self._passes < first_pass
            ):
                if not self._thread.is_alive():
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._flush_wanted = True
                self._cond.notify_all()
                self._cond.wait(left if left is None else min(left, 0.5))
            return not self._held

    def close(self, timeout: float | None = 60.0) -> None:
        """Stop accepting events, write every queued one, and stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    # -- writer thread -------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + self.flush_interval
                while (
                    not self._closed
                    and not self._flush_wanted
                    and len(self._pending) < self.max_batch
                ):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._pending = self._pending, []
                self._flush_wanted = False
                closing = self._closed
            if self._held:
                self._retry_held(final=closing and not self._pending)
            if batch:
                self._write(batch)
                with self._cond:
                    self._attempted += len(batch)
                    self._cond.notify_all()
            with self._cond:
                self._passes += 1
                self._cond.notify_all()
            if closing:
                with self._cond:
                    if not self._pending and not self._held:
                        self._report_final()
                        return

    def _report_final(self) -> None:
        if self.write_errors or self.dropped:
            self._report()

    def _put(self, uri: str, payload: bytes, tries: int) -> bool:
        for attempt in range(tries):
            try:
                self.store.put_bytes(uri, payload, content_type="application/jsonl")
                self.objects_written += 1
                return True
            except Exception as exc:  # a full disk, a store error: retried, then held
                self.write_errors += 1
                self.errors.append(f"{uri}: {type(exc).__name__}: {exc}")
                del self.errors[:-100]
                if attempt + 1 < tries:
                    time.sleep(self.retry_delay * (2**attempt))
        return False

    def _retry_held(self, final: bool) -> None:
        """Write held objects again, oldest first; at close, drop (and count) what fails."""
        recovered = False
        while self._held:
            uri, payload, n = self._held[0]
            if not self._put(uri, payload, 5 if final else 1):
                if final:
                    with self._cond:
                        self._held.pop(0)
                        self._held_bytes -= len(payload)
                        self.dropped += n
                        self._cond.notify_all()
                    continue
                break
            with self._cond:
                self._held.pop(0)
                self._held_bytes -= len(payload)
                self._written += n
                self._cond.notify_all()
            recovered = True
        if recovered or final:
            self._report()

    def _hold(self, uri: str, payload: bytes, n: int) -> None:
        with self._cond:
            self._held.append((uri, payload, n))
            self._held_bytes += len(payload)
            while self._held_bytes > self.max_held_bytes and len(self._held) > 1:
                _, old, k = self._held.pop(0)
                self._held_bytes -= len(old)
                self.dropped += k
        self._report()

    def _write(self, batch: list[Event]) -> None:
        groups: dict[str, list[Event]] = defaultdict(list)
        for ev in batch:
            groups[time.strftime("%Y/%m/%d/%H", time.gmtime(ev[0]))].append(ev)
        for hour, events in groups.items():
            lines = []
            last_sec, stamp_text = -1, ""
            for ev in events:
                sec = int(ev[0])
                if sec != last_sec:
                    last_sec, stamp_text = (
                        sec,
                        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sec)),
                    )
                lines.append(
                    capture_line(
                        ev,
                        str(uuid.uuid4()),
                        stamp_text,
                        capture_input=self.capture_input,
                        capture_output=self.capture_output,
                        csv_types=self.csv_types,
                        json_types=self.json_types,
                    )
                )
            first = events[0][0]
            stamp = time.strftime("%M-%S", time.gmtime(first)) + f"-{int(first * 1000) % 1000:03d}"
            uri = f"{self.prefix}/{hour}/{stamp}-{uuid.uuid4()}.jsonl"
            payload = ("\n".join(lines) + "\n").encode("utf-8")
            if self._held or not self._put(uri, payload, 5):  # keep order behind held ones
                self._hold(uri, payload, len(events))
            else:
                with self._cond:
                    self._written += len(events)
