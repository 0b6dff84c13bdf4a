from django.urls import path

from predictions.api import views

urlpatterns = [
    path("models/active/", views.ActiveModelView.as_view(), name="api-model-active"),
    path("predictions/", views.PredictionListView.as_view(), name="api-prediction-list"),
    path("predictions/batch/", views.PredictionBatchView.as_view(), name="api-prediction-batch"),
    path("predictions/<str:request_id>/", views.PredictionDetailView.as_view(), name="api-prediction-detail"),
]
