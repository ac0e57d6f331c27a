"""The twinlens worker: Celery tasks and the inference engine (imports TensorFlow lazily)."""
