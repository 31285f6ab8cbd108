"""Score statistics: t quantiles against a printed table, intervals by hand, the re-ranking, the table writer."""

import csv
import io
import math

import pytest

from spectrocanvas.errors import SpectrocanvasError
from spectrocanvas.measure.stats import (
    keep_top,
    keep_top_indices,
    mean_ci,
    t_cdf,
    t_quantile,
    top_count,
    wilson_interval,
)
from spectrocanvas.measure.tables import summary_table
from spectrocanvas.pairs.interface import SummaryColumn

BOTH = ("clip_score", "clap_score")
MEANS = (SummaryColumn("clip_score", "CLIP ↑", "mean"), SummaryColumn("clap_score", "CLAP ↑", "mean"))

# Two-sided critical values from a printed t table (3 decimals): (upper-tail p, df, t).
T_TABLE = [
    (0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 3, 3.182), (0.975, 4, 2.776), (0.975, 5, 2.571),
    (0.975, 9, 2.262), (0.975, 10, 2.228), (0.975, 19, 2.093), (0.975, 29, 2.045), (0.975, 30, 2.042),
    (0.975, 60, 2.000), (0.975, 120, 1.980), (0.995, 5, 4.032), (0.995, 30, 2.750), (0.95, 10, 1.812),
    (0.95, 1, 6.314), (0.90, 20, 1.325), (0.999, 8, 4.501), (0.975, 2000, 1.961),
]


@pytest.mark.parametrize("p, df, expected", T_TABLE)
def test_t_quantile_matches_the_printed_table(p, df, expected):
    assert t_quantile(p, df) == pytest.approx(expected, abs=5e-4)
    assert t_quantile(1 - p, df) == pytest.approx(-expected, abs=5e-4)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 8, 25, 999, 1000, 1001, 4000])
def test_t_quantile_matches_scipy(df):
    stats = pytest.importorskip("scipy.stats")
    for p in (0.55, 0.8, 0.9, 0.95, 0.975, 0.99, 0.9995, 0.01):
        assert t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-9)


def test_t_cdf_closed_forms():
    for t in (-4.0, -1.0, 0.0, 0.3, 2.5):
        assert t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-14)  # Cauchy
        assert t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)), abs=1e-14)
        assert t_cdf(t, 9) + t_cdf(-t, 9) == pytest.approx(1.0, abs=1e-14)
    assert t_quantile(0.5, 7) == 0.0


def test_mean_ci_by_hand():
    mean, half, n = mean_ci([1, 2, 3, 4, 5])
    s = math.sqrt(sum((v - 3) ** 2 for v in range(1, 6)) / 4)  # 1.5811
    assert (mean, n) == (3.0, 5)
    assert half == pytest.approx(2.776 * 1.5811 / 2.236, abs=1e-3)  # 1.963 with the table value
    assert half == pytest.approx(2.7764451051977987 * s / math.sqrt(5), rel=1e-12)
    assert mean_ci([2.0, 4.0], confidence=0.9)[1] == pytest.approx(6.313751514675)  # s/√n = 1


def test_mean_ci_edges():
    mean, half, n = mean_ci([7.5])
    assert (mean, n) == (7.5, 1) and math.isnan(half)
    assert mean_ci([4.0, 4.0, 4.0]) == (4.0, 0.0, 3)
    for bad in ([], [1.0, math.nan]):
        with pytest.raises(SpectrocanvasError):
            mean_ci(bad)
    with pytest.raises(SpectrocanvasError):
        mean_ci([1.0, 2.0], confidence=95)


# clip and clap scores of ten samples; by hand, with F = 0.3 (three per list):
#   top CLIP: 9 (0.99), 2 (0.90), 5 (0.80)     top CLAP: 2 (0.95), 7 (0.93), 5 (0.91)
#   kept: {2, 5}
CLIP = [0.10, 0.20, 0.90, 0.30, 0.40, 0.80, 0.50, 0.60, 0.70, 0.99]
CLAP = [0.50, 0.60, 0.95, 0.10, 0.20, 0.91, 0.30, 0.93, 0.40, 0.00]
RECORDS = [{"name": f"s{i}", "clip_score": a, "clap_score": b} for i, (a, b) in enumerate(zip(CLIP, CLAP))]


def test_keep_top_keeps_the_samples_in_both_top_lists():
    assert keep_top_indices(RECORDS, 0.3, BOTH) == [2, 5]
    assert [r["name"] for r in keep_top(RECORDS, 0.3, BOTH)] == ["s2", "s5"]
    assert keep_top_indices(RECORDS, 0.3, keys=("clip_score",)) == [2, 5, 9]
    assert keep_top_indices(RECORDS, 0.1, BOTH) == []            # 9 leads CLIP, 2 leads CLAP
    assert keep_top_indices(RECORDS, 0.05, BOTH) == []           # ⌊0.5⌋ = 0 per list, as int(N·F)
    assert keep_top_indices(RECORDS, 1.0, BOTH) == list(range(10))


def test_keep_top_matches_the_official_rule_on_random_scores():
    import numpy as np

    rng = np.random.default_rng(3)
    clip, clap = rng.random(50), rng.random(50)
    records = [{"clip_score": a, "clap_score": b} for a, b in zip(clip, clap)]
    for fraction in (0.1, 0.2, 0.5):
        k = int(50 * fraction)
        official = set(np.argsort(clap)[::-1][:k]) & set(np.argsort(clip)[::-1][:k])
        assert keep_top_indices(records, fraction, BOTH) == sorted(int(i) for i in official)


def test_keep_top_count_and_ties():
    assert top_count(100, 0.29) == 29 and top_count(10, 0.25) == 2 and top_count(7, 1.0) == 7
    tied = [{"clip_score": 1.0, "clap_score": 1.0} for _ in range(4)]
    assert keep_top_indices(tied, 0.5, BOTH) == [0, 1]           # ties go to the earlier samples


def test_keep_top_rejects_bad_input():
    for fraction in (0.0, -0.2, 1.5):
        with pytest.raises(SpectrocanvasError, match="--keep-top"):
            keep_top(RECORDS, fraction, BOTH)
    with pytest.raises(SpectrocanvasError, match="clap_score"):
        keep_top([{"clip_score": 1.0}, {"clip_score": 2.0}], 0.5, BOTH)


def test_summary_table_formats_markdown_and_csv():
    rows = [{"method": "denoise", "clip_score": v, "clap_score": w} for v, w in [(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)]]
    rows += [{"method": "imprint", "clip_score": 8.0, "clap_score": None}, {"method": "imprint", "clip_score": 9.0, "clap_score": 33.0}]
    markdown, table = summary_table(rows, MEANS)
    assert markdown.splitlines()[:4] == [
        "| method | n | CLIP ↑ | CLAP ↑ |",
        "|---|---:|---:|---:|",
        "| denoise | 5 | 3.00 ± 1.96 | 30.00 ± 19.63 |",
        "| imprint | 2 | 8.50 ± 6.35 | 33.00 (n=1) |",
    ]
    parsed = list(csv.DictReader(io.StringIO(table)))
    assert [r["method"] for r in parsed] == ["denoise", "imprint"]
    assert float(parsed[0]["clip_score_ci"]) == pytest.approx(mean_ci([1, 2, 3, 4, 5])[1], abs=1e-6)
    assert float(parsed[1]["clip_score_ci"]) == pytest.approx(12.706204736 * 0.5 / 1.0, abs=1e-5)
    assert parsed[1]["clap_score_ci"] == "" and parsed[1]["clap_score_n"] == "1" and parsed[1]["n"] == "2"
    with pytest.raises(SpectrocanvasError):
        summary_table([], MEANS)


def test_summary_table_gives_rates_with_wilson_intervals_in_the_order_asked():
    columns = (SummaryColumn("both_right", "success", "rate"), SummaryColumn("image_right", "image", "rate",
                                                                             interval=False))
    records = [{"method": "image-only", "image_right": True, "both_right": False},
               {"method": "denoise", "image_right": True, "both_right": True},
               {"method": "denoise", "image_right": False, "both_right": False}]
    markdown, table = summary_table(records, columns, order=["denoise", "image-only"], labels={"denoise": "Ours"},
                                    heading="Method")
    low, high = wilson_interval(1, 2)
    lines = markdown.splitlines()
    assert lines[0] == "| Method | n | success | image |"
    assert lines[2] == f"| Ours | 2 | 50.0% [{low:.1%}, {high:.1%}] | 50.0% |"
    assert lines[3].startswith("| image-only | 1 | 0.0% [") and "Wilson" in markdown
    parsed = list(csv.DictReader(io.StringIO(table)))
    assert [r["method"] for r in parsed] == ["denoise", "image-only"]
    assert float(parsed[0]["both_right_rate"]) == 0.5 and float(parsed[0]["both_right_low"]) == pytest.approx(low, abs=1e-6)
    assert parsed[0]["image_right_rate"] == "0.500000" and parsed[0]["n"] == "2"


def test_wilson_interval_by_hand():
    low, high = wilson_interval(8, 10)  # p = 0.8, z = 1.96: centre 0.7183, half 0.2135 (textbook values)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
