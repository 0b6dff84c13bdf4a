from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Review queue"

    def ready(self) -> None:
        from reviews import lockouts  # noqa: F401  (connects the django-axes lockout signal)
