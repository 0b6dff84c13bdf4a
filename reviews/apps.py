from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = "Review queue"

    def ready(self) -> None:
        # Imported here so every process (web, Celery worker) creates the counters once, at start,
        # and registers the tasks: predictions sends the routing task by name from the registry.
        from reviewapp.metrics import scrape_collector_add
        from reviews import tasks  # noqa: F401
        from reviews.metrics import CallbackCollector, ReviewQueueCollector

        scrape_collector_add(ReviewQueueCollector())
        scrape_collector_add(CallbackCollector())
