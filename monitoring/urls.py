from django.urls import path

app_name = "monitoring"
urlpatterns: list = [
    # The monitoring page and its partials come here.
]
