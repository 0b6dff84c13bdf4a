"""The chart primitives the monitoring and quality pages share (reviewapp/charts.py)."""

import pytest

from reviewapp.charts import Frame, nice_ceiling, tick_text


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (-3, 1), (1, 1), (7, 8), (11, 12), (280, 300), (2450, 2500), (0.037, 0.04), (0.9, 1)],
)
def test_axis_tops_are_round_numbers_fractions_included(value, ceiling):
    assert nice_ceiling(value) == pytest.approx(ceiling)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (0.5, "0.5"), (1.25, "1.25"), (7.5, "7.5"), (12.5, "12"), (2500, "2,500"), (10_000, "10,000")],
)
def test_tick_labels_are_whole_numbers_with_separators(value, text):
    assert tick_text(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0375, "0.037"), (1.25, "1.2"), (9_999, "9,999"), (25_000, "25k"), (2_500_000, "2.5M")],
)
def test_short_tick_labels_stay_narrow(value, text):
    assert tick_text(value, short=True, digits=2) == text


def test_a_frame_places_fractions_of_its_plot_and_says_where_the_plot_is():
    frame = Frame(width=600, height=200, left=48, right=10, top=12, bottom=28)

    assert (frame.x(0), frame.x(1), frame.y(0), frame.y(1)) == (48, 590, 172, 12)
    chart = frame.chart(y_ticks=[], x_ticks=[], dots=["a"])
    assert chart["plot"] == {"left": 48, "right": 590, "top": 12, "bottom": 172, "height": 160}
    assert (chart["width"], chart["height"], chart["label_y"], chart["dots"]) == (600, 200, 192, ["a"])
