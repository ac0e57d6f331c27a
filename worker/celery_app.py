"""The workers' Celery app: `celery -A worker.celery_app worker`.

Models are built in each pool process after fork (worker_process_init), never in the parent:
TensorFlow's thread pools do not survive a fork.
"""

from __future__ import annotations

import logging

from celery import signals

from shared.queue import make_celery
from shared.settings import get_settings

app = make_celery(get_settings())
app.conf.include = ["worker.tasks"]
log = logging.getLogger("twinlens.worker")


@signals.worker_process_init.connect
def _load_models_in_child(**_kwargs) -> None:
    from shared.db import dispose_engines
    from worker import runtime

    dispose_engines()  # connections inherited from the parent must not be shared
    runtime.start()


@signals.worker_ready.connect
def _start_sweeper(sender=None, **_kwargs) -> None:
    from worker.sweeper import start_sweeper_thread

    start_sweeper_thread(app)


@signals.worker_init.connect
def _solo_pool_loads_in_main(sender=None, **_kwargs) -> None:
    # With the solo (or threads) pool there is no child process: load in the worker itself.
    pool = getattr(sender, "pool_cls", None)
    name = pool if isinstance(pool, str) else getattr(pool, "__module__", "")
    if "solo" in str(name) or "thread" in str(name):
        from worker import runtime

        runtime.start()
