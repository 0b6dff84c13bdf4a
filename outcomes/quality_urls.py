"""The quality pages, wired at /quality/ by reviewapp/urls.py."""

from django.urls import path

from outcomes import views

app_name = "quality"
urlpatterns = [
    path("", views.scorecard, name="scorecard"),
    path("thresholds/", views.thresholds, name="thresholds"),
    # The what-if's "apply" posts to lifecycle:threshold-propose (/models/threshold/): four eyes.
]
