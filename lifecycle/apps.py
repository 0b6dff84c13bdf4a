from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = "Model lifecycle"

    def ready(self) -> None:
        # Registers the tasks in every process: predictions sends the shadow's by name from the
        # registry, which a web process fills only with what it imported.
        from lifecycle import tasks  # noqa: F401
