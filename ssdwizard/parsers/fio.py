"""``fio --output-format=json`` → the read side of the first job.

fio prints its JSON report on stdout; warnings ("fio: ...") may come before it, so the text is
read from the first ``{``. Latency percentiles are under ``read.clat_ns.percentile`` keyed by
strings like ``"99.000000"`` (completion latency: for a synchronous engine that is the whole
read; fio leaves ``lat_ns`` without percentiles by default).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ssdwizard.parsers import ParseError

SOURCE = "fio --output-format=json"


@dataclass(frozen=True)
class FioRead:
    iops: float
    bandwidth_bytes: float
    total_ios: int
    runtime_ms: int
    percentiles_ns: dict[float, float]
    version: str | None


def parse_fio_json(text: str) -> FioRead:
    start = text.find("{")
    if start < 0:
        raise ParseError(SOURCE, "no JSON object in the output")
    try:
        data = json.loads(text[start:])
    except json.JSONDecodeError as exc:
        raise ParseError(SOURCE, f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    jobs = data.get("jobs") if isinstance(data, dict) else None
    if not isinstance(jobs, list) or not jobs or not isinstance(jobs[0], dict):
        raise ParseError(SOURCE, "no jobs in the report")
    job = jobs[0]
    if job.get("error"):
        raise ParseError(SOURCE, f"the job failed with error {job.get('error')}")
    read = job.get("read")
    if not isinstance(read, dict):
        raise ParseError(SOURCE, "the job has no read section")
    try:
        clat = read.get("clat_ns") or {}
        percentiles = {float(k): float(v) for k, v in (clat.get("percentile") or {}).items()}
        return FioRead(float(read["iops"]), float(read["bw_bytes"]), int(read["total_ios"]), int(read["runtime"]),
                       percentiles, data.get("fio version"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(SOURCE, f"the read section lacks a number: {exc}") from None
