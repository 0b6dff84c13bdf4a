"""The quality pages' charts: axes that follow shares and hours below 1, and narrow labels."""

from outcomes import charts

THRESHOLDS = [round(0.50 + step / 100, 2) for step in range(50)]


def test_an_axis_of_small_figures_keeps_their_scale():
    chart = charts.threshold_chart(thresholds=THRESHOLDS, values=[0.037] * 50, label="hours")

    assert [t.text for t in chart["y_ticks"]] == ["0", "0.02", "0.04"]


def test_large_figures_are_written_short():
    chart = charts.threshold_chart(thresholds=THRESHOLDS, values=[20_000.0] * 50, label="cost")

    assert [t.text for t in chart["y_ticks"]] == ["0", "12.5k", "25k"]  # 5 % headroom above 20k
    assert chart["slots"][0].title == "threshold 0.50: cost 20k"


def test_weeks_without_predictions_still_get_an_axis():
    week = {
        "week": "2026-W01",
        "start": "2025-12-29",
        "predictions": 0,
        "labelled": 0,
        "label_coverage": None,
    }

    chart = charts.coverage_chart([week])

    assert [t.text for t in chart["y_ticks"]] == ["0", "0.5", "1"]
    assert chart["slots"][0].rects == []
