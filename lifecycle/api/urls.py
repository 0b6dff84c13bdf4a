from django.urls import path

from lifecycle.api import views

# Under /api/v1/ (wired in reviewapp/urls.py, before predictions' models/<version>/activate/).
urlpatterns: list = [
    # Shadowing and comparison (lifecycle/api/views.py).
    path("models/<int:version>/shadow/", views.ShadowView.as_view(), name="api-model-shadow"),
    path("models/<int:version>/comparison/", views.ComparisonView.as_view(), name="api-model-comparison"),
    # lifecycle/api/approval_views.py: models/<int:version>/activate/ (gated), changes/,
    # changes/<int:pk>/approve/, changes/<int:pk>/reject/
]
