from django.urls import path

from reviews.api import views

urlpatterns = [
    path("predictions/", views.PredictionListView.as_view(), name="api-prediction-list"),
    path("predictions/<str:request_id>/", views.PredictionDetailView.as_view(), name="api-prediction-detail"),
]
