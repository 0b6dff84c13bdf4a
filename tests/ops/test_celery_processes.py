"""What a Celery worker's pool processes set up once forked, before their first task."""

import gc

from celery import signals


def test_a_pool_process_freezes_what_it_loaded_out_of_the_collectors_way():
    gc.unfreeze()  # whatever this test run froze before
    try:
        signals.worker_process_init.send(sender=None)

        assert gc.get_freeze_count() > 50_000  # Django and the apps: ~120,000 objects
    finally:
        gc.unfreeze()
