"""Master-side gates on real traffic: Prometheus queries judged per batch.

``prometheus.py`` asks, ``template.py`` renders the batch's values into the query,
``gate.py`` decides (pure), ``steps.py`` holds the step wording and the planned ``MetricGate``.
"""
