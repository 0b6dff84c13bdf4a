from django.urls import path

app_name = "lifecycle"

# Pages under /models/ (wired in reviewapp/urls.py).
urlpatterns: list = [
    # Shadowing and comparison (lifecycle/views.py): "models" (the list), "model-shadow",
    # "model-comparison".
    # Activation and four eyes (lifecycle/approval_views.py): "model-activate", "changes",
    # "change-approve", "change-reject", "change-withdraw", "threshold-propose",
    # "audit-sample-rate-propose".
]
