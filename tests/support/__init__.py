"""Fakes and helpers shared by the test tiers; imported as ``tests.support.<module>``.

All tiers: ``paths`` (REPO, TESTS, UNIT_DATA).
Unit tier: ``fake_dunders`` (a Salt loader module with fake ``__salt__``/``__opts__``/``__context__``),
``fake_pkg``, ``fake_firewalls``, ``fake_nrpe``, ``fake_fleet`` (the engine's transport; it lives in
saltext.scenario.testing, which the benchmarks import too), ``sites``
(feature directories made from tests/unit/data/site), ``engine_calls`` (the engine's stages called
with opts and keyword arguments, as the service calls them), ``report_checks``, ``http_receiver`` (a
loopback HTTP(S) server on an ephemeral port: webhooks, a fake Prometheus or salt-api).
Functional tier: ``salt_loaders``, ``netns_minion`` (loaders inside a network namespace),
``private_package_root`` (real dpkg/apt in a private mount namespace), ``firewall_view``,
``prometheus_server`` (Debian's prometheus on a free loopback port, stopped by its pid).
Shipped in saltext.scenario.testing instead (the benchmarks import them too): ``state_returns``
(state runs copied from real ones) and ``chromium`` (headless Chromium for the HTML report).
Integration tier: ``scenario_cli`` (salt-run scenario.* in a sandbox), ``master_bus``, ``report_checks``.
"""
