from django.urls import path

from lifecycle.api import approval_views, views

# Under /api/v1/ (wired in reviewapp/urls.py, before predictions' models/<version>/activate/).
urlpatterns: list = [
    # Shadowing and comparison (lifecycle/api/views.py).
    path("models/<int:version>/shadow/", views.ShadowView.as_view(), name="api-model-shadow"),
    path("models/<int:version>/comparison/", views.ComparisonView.as_view(), name="api-model-comparison"),
    # Activation through the promotion gate, settings, four eyes (lifecycle/api/approval_views.py).
    # The name api-model-activate is the one predictions' ungated route had: clients keep it.
    path(
        "models/<int:version>/activate/",
        approval_views.ModelVersionActivateView.as_view(),
        name="api-model-activate",
    ),
    path(
        "models/<int:version>/threshold/", approval_views.ThresholdView.as_view(), name="api-model-threshold"
    ),
    path(
        "models/<int:version>/audit-sample-rate/",
        approval_views.AuditSampleRateView.as_view(),
        name="api-model-audit-sample-rate",
    ),
    path("changes/", approval_views.ChangeListView.as_view(), name="api-change-list"),
    path("changes/<int:pk>/approve/", approval_views.ChangeApproveView.as_view(), name="api-change-approve"),
    path("changes/<int:pk>/reject/", approval_views.ChangeRejectView.as_view(), name="api-change-reject"),
    path(
        "changes/<int:pk>/withdraw/", approval_views.ChangeWithdrawView.as_view(), name="api-change-withdraw"
    ),
]
