"""The last stage: the front door the runner calls (``service.py``), its checked request
(``request.py``), its return dicts (``returns.py``) and the runs it orchestrates
(``run.py``, ``recorded_run.py``, ``resume.py``)."""
