"""The monitoring page: who may see it, what it shows, and that its cost does not grow with the data."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import charts, latency, selectors
from monitoring.models import DriftReport, FeatureDrift
from predictions import services
from predictions.models import Prediction
from reviews import selectors as review_selectors
from reviews import services as review_services
from reviews.models import Decision, ReviewItem
from tests.monitoring.factories import BATCH, SCORING, snapshot_store
from tests.reviews.factories import routed_items

URL = "/monitoring/"


@pytest.fixture
def monitor_client(client, make_user):
    client.force_login(make_user("analyst"))
    return client


def decide(items, user, *, overrides: int) -> None:
    for index, item in enumerate(items):
        review_services.review_item_claim(item_id=item.pk, user=user)
        prediction = Prediction.objects.select_related("model_version", "explanation").get(
            pk=item.prediction_id
        )
        overridden = index < overrides
        review_services.decision_record(
            item_id=item.pk,
            user=user,
            outcome=Decision.Outcome.OVERRIDDEN if overridden else Decision.Outcome.CONFIRMED,
            reason=Decision.Reason.DATA_ERROR if overridden else "",
            seen_digest=review_selectors.review_digest(prediction),
        )


# --- who may see it ---------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


def test_people_without_a_role_are_refused(client, make_user):
    client.force_login(make_user(None))

    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("role", ["analyst", "auditor", "admin"])
def test_every_staff_role_may_read_it(client, make_user, active_model, role):
    client.force_login(make_user(role))

    response = client.get(URL)

    assert response.status_code == 200
    assert b'href="/monitoring/">Monitoring</a>' in response.content


def test_it_is_read_only(monitor_client, active_model):
    assert monitor_client.post(URL).status_code == 405


# --- what it shows ----------------------------------------------------------------------


def test_it_shows_volume_distributions_queue_decisions_drift_and_the_model(
    monitor_client, make_user, active_model, transactions
):
    services.review_all_predictions_set(on=True, actor="test")  # every prediction to review
    items = routed_items(records=transactions(8))
    decide(items[:4], make_user("analyst", "bob"), overrides=1)
    report = DriftReport.objects.create(
        model_version=active_model,
        window_start=timezone.now() - timedelta(hours=24),
        window_end=timezone.now(),
        sample_size=1234,
        score_psi=0.03,
        score_state="ok",
        not_compared=["day_of_week"],
    )
    FeatureDrift.objects.create(report=report, feature="amount", psi=0.31, state="alert")
    FeatureDrift.objects.create(report=report, feature="channel", psi=0.12, state="warning")

    response = monitor_client.get(URL)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Active model <strong>card-fraud v1</strong>" in page
    assert "Automatic decisions are paused" in page
    assert "<dt>Predictions</dt><dd>8</dd>" in page
    assert "<dt>Sent to review</dt><dd>100.0%</dd>" in page
    assert "<dt>Review queue</dt><dd>4</dd>" in page
    assert "<dt>Decisions</dt><dd>4</dd>" in page
    assert "<dt>Override rate</dt><dd>25.0%</dd>" in page
    assert "PSI over 1,234 predictions" in page
    assert '<span class="state alert">alert</span>' in page
    assert '<span class="state warning">warning</span>' in page
    assert "Not compared (the window is shorter than their cycle): day_of_week." in page
    assert "ROC AUC" in page
    assert "review below 0.85" in page  # the threshold on the confidence chart
    assert page.count('<svg class="chart"') == 3


def test_an_item_past_the_sla_is_flagged(monitor_client, review_model_items):
    ReviewItem.objects.filter(pk=review_model_items[0].pk).update(
        created_at=timezone.now() - timedelta(minutes=95)
    )

    page = monitor_client.get(URL).content.decode()

    assert '<div class="bad"><dt>Oldest waiting</dt><dd>1 h 35 min</dd>' in page
    assert '<div class="bad"><dt>Past SLA</dt><dd>1</dd>' in page


def test_without_a_drift_report_or_heartbeat_it_says_so(monitor_client, active_model, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a broker and workers are expected

    page = monitor_client.get(URL).content.decode()

    assert "No drift report on the active model yet" in page
    assert '<div class="bad"><dt>Workers</dt>' in page
    assert "none yet" in page


def test_without_a_broker_it_says_tasks_run_in_process_not_that_workers_are_down(
    monitor_client, active_model, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the demo: no REDIS_URL

    page = monitor_client.get(URL).content.decode()

    assert '<div class=""><dt>Workers</dt>' in page
    assert "tasks run in the web process" in page
    assert "workers down?" not in page


def test_it_says_how_far_behind_the_audit_chain_is(monitor_client, active_model):
    from audit.models import AuditPending
    from audit.services import audit_chain_extend

    audit_chain_extend()
    assert (
        '<div class=""><dt>Audit chain</dt>\n    <dd>all linked</dd>'
        in monitor_client.get(URL).content.decode()
    )

    AuditPending.objects.bulk_create(AuditPending(source="event", object_id=n) for n in range(1200, 1203))
    AuditPending.objects.filter(object_id=1200).update(queued_at=timezone.now() - timedelta(minutes=20))
    page = monitor_client.get(URL).content.decode()

    assert '<div class="bad"><dt>Audit chain</dt>\n    <dd>3 to link</dd>' in page
    assert "the oldest waiting 20 min" in page


def test_without_an_active_model_it_still_answers(monitor_client):
    page = monitor_client.get(URL).content.decode()

    assert "No model is active" in page


def test_charts_come_from_the_page_itself_not_from_elsewhere(monitor_client, active_model):
    page = monitor_client.get(URL).content.decode()

    assert 'src="http' not in page and 'href="http' not in page
    assert "<script>" not in page  # no inline scripts: the page is SVG drawn on the server


@pytest.fixture
def review_model_items(active_model, transactions):
    services.review_all_predictions_set(on=True, actor="test")
    return routed_items(records=transactions(3))


def test_the_number_of_queries_does_not_grow_with_the_data(
    monitor_client, make_user, active_model, transactions
):
    services.review_all_predictions_set(on=True, actor="test")
    decide(routed_items(records=transactions(2, seed=1)), make_user("analyst", "bob"), overrides=1)
    with CaptureQueriesContext(connection) as few:
        monitor_client.get(URL)

    decide(routed_items(records=transactions(30, seed=2)), make_user("analyst", "carol"), overrides=5)
    with CaptureQueriesContext(connection) as many:
        monitor_client.get(URL)

    assert len(many) == len(few)
    assert len(few) <= 13  # session, user, roles, switch, then one aggregate per figure


# --- the aggregates ---------------------------------------------------------------------


def test_volume_is_counted_per_hour_with_empty_hours_kept(sure_model, score, transactions):
    predictions = score(transactions(6))
    now = timezone.now()
    Prediction.objects.filter(pk__in=[p.pk for p in predictions[:2]]).update(
        created_at=now - timedelta(hours=5)
    )
    Prediction.objects.filter(pk=predictions[2].pk).update(created_at=now - timedelta(hours=30))

    volume = selectors.prediction_volume_by_hour(now=now)

    assert len(volume) == 24
    assert [v.total for v in volume][-6:] == [2, 0, 0, 0, 0, 3]
    assert sum(v.total for v in volume) == 5


def test_both_histograms_add_up_to_the_total(active_model, score, transactions):
    score(transactions(40))

    stats = selectors.prediction_stats(since=timezone.now() - timedelta(hours=1))

    assert stats.total == 40
    assert sum(stats.score_bins) == sum(stats.confidence_bins) == 40


def test_bars_are_as_tall_as_their_values():
    chart = charts.bar_chart(
        columns=[[("a", 10)], [("a", 5), ("b", 5)], [("a", 0)]], titles=["x", "y", "z"], x_ticks=[]
    )

    first, second, third = chart["columns"]
    assert first.rects[0].height == sum(r.height for r in second.rects)
    assert third.rects == []
    assert [t.text for t in chart["y_ticks"]] == ["0", "5", "10"]


def test_a_log_scale_keeps_small_bins_visible():
    chart = charts.histogram(counts=[3000, 3, 0], edges=(0, 1, 2, 3), css="score")

    big, small, empty = chart["columns"]
    assert small.rects[0].height > big.rects[0].height / 10
    assert empty.rects == []
    assert [t.text for t in chart["y_ticks"]] == ["1", "10", "100", "1,000", "10,000"]


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [(0, ["0", "0.5", "1"]), (0.3, ["0", "0.5", "1"]), (7, ["0", "4", "8"]), (2450, ["0", "1,250", "2,500"])],
)
def test_a_bar_chart_counts_up_to_a_round_top_of_at_least_one(highest, ticks):
    """Its bars count things: no axis of fractions, and 10,000 written out in full."""
    chart = charts.bar_chart(columns=[[("a", highest)]], titles=["x"], x_ticks=[])

    assert [t.text for t in chart["y_ticks"]] == ticks


# --- latency over time ------------------------------------------------------------------


def test_it_draws_scoring_latency_over_time_and_lists_routes_from_stored_snapshots(
    monitor_client, active_model
):
    now = timezone.now()
    fast, slow = [0.02] * 50 + [0.04] * 45, [0.25] * 5
    snapshot_store("web-1", now - timedelta(hours=2), {})
    snapshot_store("web-1", now - timedelta(minutes=1), {SCORING: fast + slow, BATCH: [1.2] * 3})
    snapshot_store("web-2", now - timedelta(minutes=2), {SCORING: [0.02] * 7})
    snapshot_store("web-2", now - timedelta(minutes=1), {SCORING: [0.02] * 7})  # nothing new

    page = monitor_client.get(URL).content.decode()

    assert '<svg class="chart" viewBox="0 0 600 200" role="img" aria-labelledby="latency-title">' in page
    assert page.count('<rect class="slot"') == 96  # 15-minute intervals over 24 hours
    # The 100 new requests of web-1: p50 25 ms, p95 50 ms, p99 interpolated in (200, 300] ms.
    assert ": 100 scoring requests, p50 25 ms, p95 50 ms, p99 280 ms</title>" in page
    assert "alert: p99 above 200 ms" in page
    assert "(2 recording now, last 1 min ago)" in page
    assert (
        '<tr><td><code>POST api-prediction-list</code></td><td class="num">100</td>\n'
        '        <td class="num">25 ms</td><td class="num">50 ms</td>\n'
        '        <td class="num bad">280 ms</td></tr>'
    ) in page
    assert '<code>POST api-prediction-batch</code></td><td class="num">3</td>' in page


def test_before_anything_is_recorded_it_says_how_latency_history_builds_up(monitor_client, active_model):
    page = monitor_client.get(URL).content.decode()

    assert "Nothing recorded yet: each web server stores its latency histograms once a minute" in page
    assert 'aria-labelledby="latency-title"' not in page


def test_when_no_web_server_has_recorded_for_minutes_it_warns(monitor_client, active_model):
    snapshot_store("web-1", timezone.now() - timedelta(minutes=40), {SCORING: [0.02]})
    snapshot_store("web-1", timezone.now() - timedelta(minutes=30), {SCORING: [0.02] * 2})

    page = monitor_client.get(URL).content.decode()

    assert "No web server has recorded latency for 30 min" in page
    assert "(0 recording now, last 30 min ago)" in page


def test_latency_over_time_costs_two_queries_however_many_snapshots(db):
    now = timezone.now()
    for minute in range(180, 0, -1):  # three hours of one server, 1 request a minute
        snapshot_store("web-1", now - timedelta(minutes=minute), {SCORING: [0.02] * (180 - minute)})

    with CaptureQueriesContext(connection) as queries:
        result = selectors.request_latency_over_time(now=now)

    assert len(queries) == 2  # cheap columns of all, then histograms of about one per interval
    assert sum(interval.latency.count for interval in result.scoring) == 179  # the first is a baseline
    assert [row.key for row in result.routes] == [SCORING]
    assert result.servers == 1


def test_latency_quantiles_are_interpolated_within_buckets():
    buckets = [(0.1, 50.0), (0.2, 90.0), (0.5, 100.0), (float("inf"), 100.0)]

    assert latency.histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert latency.histogram_quantile(0.7, buckets) == pytest.approx(0.15)
    assert latency.histogram_quantile(0.99, buckets) == pytest.approx(0.47)
    assert latency.histogram_quantile(0.5, [(float("inf"), 0.0)]) is None
