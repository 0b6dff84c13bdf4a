from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = "Monitoring and operations"

    def ready(self) -> None:
        from monitoring.metrics import MonitoringCollector
        from reviewapp import metrics

        metrics.scrape_collector_add(MonitoringCollector())
