from django.urls import path

from reviews import audit_views

app_name = "audit"
urlpatterns = [
    path("", audit_views.search, name="search"),
    path("export.csv", audit_views.export_csv, name="export-csv"),
    path("export.jsonl", audit_views.export_jsonl, name="export-jsonl"),
    path("events/", audit_views.events, name="events"),
    path("predictions/<str:request_id>/", audit_views.prediction_trace, name="prediction"),
]
