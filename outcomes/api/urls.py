from django.urls import path

from outcomes.api import views

urlpatterns = [
    path("outcomes/", views.OutcomeListView.as_view(), name="api-outcome-list"),
    path("outcomes/batch/", views.OutcomeBatchView.as_view(), name="api-outcome-batch"),
]
