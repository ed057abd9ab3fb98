"""``stmtl serve``: the model behind an HTTP JSON service (FastAPI on uvicorn), concurrent requests micro-batched.

* :mod:`~stmtl.serving.settings`: the limits and batching settings, checked before anything loads;
* :mod:`~stmtl.serving.batcher`: requests queued and run together, one model call at a time;
* :mod:`~stmtl.serving.app`: the routes (``/predict``, ``/encode``, ``/health``), request checks and errors.
"""
