from django.urls import path

# Under /api/v1/ (wired in reviewapp/urls.py, before predictions' models/<version>/activate/).
urlpatterns: list = [
    # lifecycle/api/views.py: models/<int:version>/shadow/, models/<int:version>/comparison/
    # lifecycle/api/approval_views.py: models/<int:version>/activate/ (gated), changes/,
    # changes/<int:pk>/approve/, changes/<int:pk>/reject/
]
