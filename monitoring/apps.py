from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring and operations"

    def ready(self) -> None:
        from monitoring import receivers  # noqa: F401  (starts the latency recorder in web processes)
        from monitoring.metrics import MonitoringCollector
        from reviewapp import metrics

        metrics.scrape_collector_add(MonitoringCollector())
