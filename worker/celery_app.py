"""The workers' Celery app: `celery -A worker.celery_app worker`.

Models are built in each pool process after fork (worker_process_init), never in the parent:
TensorFlow's thread pools do not survive a fork.
"""

from __future__ import annotations

import logging
import os
import signal

from celery import signals

from shared.queue import make_celery
from shared.settings import get_settings

app = make_celery(get_settings())
app.conf.include = ["worker.tasks"]
log = logging.getLogger("twinlens.worker")


@signals.worker_init.connect
def _refuse_to_start_without_weights(**_kwargs) -> None:
    """Fail fast in the parent, before forking, with the message that names the fixes."""
    from worker.engine.registry import get_spec
    from worker.engine.weights import WeightsUnavailable, preflight

    settings = get_settings()
    try:
        preflight(settings.weights, [get_spec(m) for m in settings.models])
    except WeightsUnavailable as exc:
        log.critical("cannot start: %s", exc)
        raise SystemExit(3) from None  # not an Exception: Celery's signal dispatch lets it out


@signals.worker_process_init.connect
def _load_models_in_child(**_kwargs) -> None:
    from shared.db import dispose_engines
    from worker import runtime

    dispose_engines()  # connections inherited from the parent must not be shared
    try:
        runtime.start()
    except Exception:
        # A pool process without models would take tasks it cannot run, and Celery would
        # only replace it with another that fails the same way: stop the whole worker.
        log.critical("could not load the models; stopping the worker", exc_info=True)
        os.kill(os.getppid(), signal.SIGTERM)
        os._exit(3)


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
