from django.urls import path

from lifecycle import views

app_name = "lifecycle"

# Pages under /models/ (wired in reviewapp/urls.py).
urlpatterns: list = [
    # Shadowing and comparison (lifecycle/views.py).
    path("", views.models, name="models"),
    path("<int:version>/shadow/", views.model_shadow, name="model-shadow"),
    path("<int:version>/comparison/", views.model_comparison, name="model-comparison"),
    # Activation and four eyes (lifecycle/approval_views.py): "model-activate", "changes",
    # "change-approve", "change-reject", "change-withdraw", "threshold-propose",
    # "audit-sample-rate-propose".
]
