"""Headless Chromium (Debian's `chromium` package, installed by `make test`) for tests and benchmarks
that look at the HTML report the way a browser shows it.

Every call starts one browser with a fresh profile directory and waits for it to exit (with a
timeout). When running as root with `unshare` available, the browser runs in a network namespace
of its own with no interface up, so a page that needed the network could not hide it, and the
browser itself reaches nothing (the machine's network is never touched).
"""

import os
import shutil
import subprocess
import tempfile
import time

FLAGS = [
    "--headless",
    "--no-sandbox",  # root cannot use Chromium's setuid sandbox
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]


def executable():
    """The Chromium binary on PATH, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _argv(flags, url, profile):
    argv = [executable(), *FLAGS, f"--user-data-dir={profile}", *flags, url]
    if os.geteuid() == 0 and shutil.which("unshare"):
        argv = ["unshare", "--net", *argv]
    return argv


def run(url, *flags, timeout=120):
    """(stdout, seconds) of one headless Chromium on `url`; raises on a non-zero exit or a timeout."""
    if executable() is None:
        raise FileNotFoundError("chromium is not installed (make test installs the Debian package)")
    with tempfile.TemporaryDirectory(prefix="scenario-chromium-") as profile:
        t0 = time.monotonic()
        proc = subprocess.run(_argv(flags, url, profile), capture_output=True, text=True, timeout=timeout, check=False)
        seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout, seconds


def dump_dom(path, fragment="", timeout=120):
    """The page's DOM as HTML after its load event (the inline script has run); `fragment` is the
    URL's #part, as a link to a row would give it."""
    url = f"file://{os.path.abspath(path)}" + (f"#{fragment}" if fragment else "")
    return run(url, "--dump-dom", timeout=timeout)[0]


def screenshot(path, png, width=1400, height=1000, timeout=120):
    """A PNG of the top of the page at `width` x `height`; returns the PNG's path."""
    run(
        f"file://{os.path.abspath(path)}",
        f"--screenshot={os.path.abspath(png)}",
        f"--window-size={width},{height}",
        timeout=timeout,
    )
    if not os.path.getsize(png):
        raise RuntimeError(f"chromium wrote an empty screenshot {png}")
    return png
