from django.urls import path

from predictions.api import views

urlpatterns = [
    path("models/", views.ModelVersionListView.as_view(), name="api-model-list"),
    path("models/active/", views.ActiveModelView.as_view(), name="api-model-active"),
    # models/<int:version>/activate/ is lifecycle's: activation goes through the promotion gate.
    # POST predictions/ (scoring) is wired by reviews.api.urls, whose view adds the search to it.
    path("predictions/batch/", views.PredictionBatchView.as_view(), name="api-prediction-batch"),
]
