from django.urls import path

from lifecycle import approval_views, card_views, views

app_name = "lifecycle"

# Pages under /models/ (wired in reviewapp/urls.py).
urlpatterns: list = [
    # Shadowing and comparison (lifecycle/views.py).
    path("", views.models, name="models"),
    path("<int:version>/shadow/", views.model_shadow, name="model-shadow"),
    path("<int:version>/comparison/", views.model_comparison, name="model-comparison"),
    # A version's model card with its provenance (lifecycle/card_views.py).
    path("<int:version>/card/", card_views.model_card_page, name="model-card"),
    # Activation and four eyes (lifecycle/approval_views.py).
    path("<int:version>/activate/", approval_views.model_activate, name="model-activate"),
    path("changes/", approval_views.changes, name="changes"),
    path("changes/<int:pk>/approve/", approval_views.change_approve, name="change-approve"),
    path("changes/<int:pk>/reject/", approval_views.change_reject, name="change-reject"),
    path("changes/<int:pk>/withdraw/", approval_views.change_withdraw, name="change-withdraw"),
    path("threshold/", approval_views.threshold_propose, name="threshold-propose"),
    path("audit-sample-rate/", approval_views.audit_sample_rate_propose, name="audit-sample-rate-propose"),
]
