from django.urls import path

from outcomes.api import views

urlpatterns = [
    path("outcomes/", views.OutcomeListView.as_view(), name="api-outcome-list"),
    path("outcomes/batch/", views.OutcomeBatchView.as_view(), name="api-outcome-batch"),
    path("quality/", views.QualityView.as_view(), name="api-quality"),
    path("quality/thresholds/", views.ThresholdsView.as_view(), name="api-quality-thresholds"),
]
