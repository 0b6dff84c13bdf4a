from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from reviewapp import views

# Uncaught exceptions: an unreachable database becomes 503 with Retry-After, the rest 500.
handler500 = views.server_error

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("reviews/", include("reviews.urls")),
    path("audit/", include("reviews.audit_urls")),
    path("monitoring/", include("monitoring.urls")),
    path("outcomes/", include("outcomes.urls")),
    path("quality/", include("outcomes.quality_urls")),
    path("models/", include("lifecycle.urls")),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so no inline script is needed;
    # its template still has an inline <style>, allowed on this page only.
    path(
        "api/docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    # lifecycle first: its gated models/<version>/activate/ replaces predictions' ungated one.
    path("api/v1/", include("lifecycle.api.urls")),
    # predictions next: its predictions/batch/ must match before reviews' predictions/<request_id>/.
    path("api/v1/", include("predictions.api.urls")),
    path("api/v1/", include("reviews.api.urls")),
    path("api/v1/", include("outcomes.api.urls")),
]
