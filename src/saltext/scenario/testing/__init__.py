"""Stand-ins for a real fleet, shared by the test suite and the benchmarks (``bench/``).

``fake_fleet``
    ``FakeFleet``/``FakeHost``: the engine's transport interface answered in-process, with
    lbgate, lbdrain, the HAProxy client, pkgcheck, nrpe, file and the mywebapp state simulated per host.
``state_returns``
    ``state.apply`` returns copied from real runs of states/mywebapp.
``chromium``
    Headless Chromium, to look at the HTML report the way a browser shows it.

Nothing here runs on a master or a minion: it is shipped so that code outside the test tree can
import it (``tests.support.fake_fleet`` re-exports the fleet under its old name).
"""
