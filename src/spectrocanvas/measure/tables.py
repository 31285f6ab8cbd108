"""The one table writer: per group of samples (a method, a run), each column a score's mean with
its t interval or a verdict's rate with its Wilson interval, as markdown and CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.measure.stats import mean_ci, wilson_interval
from spectrocanvas.pairs.interface import SummaryColumn


def _mean(values: list[float], confidence: float) -> dict[str, Any]:
    if not values:
        return {"mean": None, "ci": None, "n": 0}
    mean, half, count = mean_ci(values, confidence)
    return {"mean": mean, "ci": None if math.isnan(half) else half, "n": count}


def _rate(verdicts: list[bool], column: SummaryColumn, z: float) -> dict[str, Any]:
    if not verdicts:
        return {"rate": None, **({"low": None, "high": None} if column.interval else {}), "n": 0}
    rate = sum(verdicts) / len(verdicts)
    if not column.interval:
        return {"rate": rate, "n": len(verdicts)}
    low, high = wilson_interval(sum(verdicts), len(verdicts), z)
    return {"rate": rate, "low": low, "high": high, "n": len(verdicts)}


def summary_rows(records: Sequence[Mapping[str, Any]], columns: Sequence[SummaryColumn], *,
                 group_key: str = "method", order: Sequence[str] | None = None,
                 confidence: float = 0.95) -> list[dict[str, Any]]:
    """Per group of ``records`` (by ``group_key``; in ``order`` when given, else in order of first
    appearance): ``group``, ``n``, and per column ``<key>_mean``/``<key>_ci`` (means) or
    ``<key>_rate``/``<key>_low``/``<key>_high`` (rates) and ``<key>_n``. A record lacking a column's
    value (None) is left out of that column."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        groups.setdefault(str(record.get(group_key, "")), []).append(record)
    names = [name for name in (order or groups) if name in groups]
    if not names:
        raise SpectrocanvasError("no samples to summarise")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    rows = []
    for name in names:
        row: dict[str, Any] = {"group": name, "n": len(groups[name])}
        for column in columns:
            values = [r[column.key] for r in groups[name] if r.get(column.key) is not None]
            stats = (_mean([float(v) for v in values], confidence) if column.statistic == "mean"
                     else _rate([bool(v) for v in values], column, z))
            row.update({f"{column.key}_{part}": value for part, value in stats.items()})
        rows.append(row)
    return rows


def _cell(row: Mapping[str, Any], column: SummaryColumn, decimals: int) -> str:
    key = column.key
    if column.statistic == "mean":
        if row[f"{key}_mean"] is None:
            return "–"
        half, count = row[f"{key}_ci"], row[f"{key}_n"]
        return (f"{row[f'{key}_mean']:.{decimals}f}" + ("" if half is None else f" ± {half:.{decimals}f}")
                + ("" if count == row["n"] else f" (n={count})"))
    if row[f"{key}_rate"] is None:
        return "–"
    interval = f" [{row[f'{key}_low']:.1%}, {row[f'{key}_high']:.1%}]" if column.interval else ""
    return f"{row[f'{key}_rate']:.1%}{interval}"


def _csv_value(value: Any) -> Any:
    return "" if value is None else f"{value:.6f}" if isinstance(value, float) else value


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[SummaryColumn], *, heading: str,
                   labels: Mapping[str, str] | None = None, confidence: float = 0.95, decimals: int = 2) -> str:
    """Rows of :func:`summary_rows` as a markdown table (a row per group: label, n, each column) and a note."""
    header = [heading, "n", *(c.label for c in columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join([(labels or {}).get(row["group"], row["group"]), str(row["n"]),
                                 *(_cell(row, c, decimals) for c in columns)]) + " |" for row in rows]
    percent = f"{confidence * 100:g}%"
    notes = []
    if any(c.statistic == "mean" for c in columns):
        notes.append(f"Scores: mean ± {percent} confidence interval (t) over the samples of each row.")
    if any(c.statistic == "rate" and c.interval for c in columns):
        notes.append(f"Rates with their [{percent} Wilson score interval].")
    return "\n".join(lines) + "\n\n" + " ".join(notes) + "\n"


def csv_table(rows: Sequence[Mapping[str, Any]], *, group_key: str) -> str:
    """Rows of :func:`summary_rows` as CSV: the group (a column named ``group_key``), n, then every field."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    fields = [k for k in rows[0] if k not in ("group", "n")]
    writer.writerow([group_key, "n", *fields])
    writer.writerows([row["group"], row["n"], *(_csv_value(row[k]) for k in fields)] for row in rows)
    return out.getvalue()


def summary_table(records: Sequence[Mapping[str, Any]], columns: Sequence[SummaryColumn], *,
                  group_key: str = "method", order: Sequence[str] | None = None,
                  labels: Mapping[str, str] | None = None, heading: str | None = None,
                  confidence: float = 0.95, decimals: int = 2) -> tuple[str, str]:
    """(markdown, csv) of :func:`summary_rows`: a row per group with its sample count and each column."""
    rows = summary_rows(records, columns, group_key=group_key, order=order, confidence=confidence)
    return (markdown_table(rows, columns, heading=heading or group_key, labels=labels, confidence=confidence,
                           decimals=decimals),
            csv_table(rows, group_key=group_key))
