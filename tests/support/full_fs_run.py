"""Run a command with a small tmpfs over DIR, in a mount namespace of its own (run under `unshare -m`).

    unshare -m --propagation private -- python full_fs_run.py DIR full -- ARGV...
    unshare -m --propagation private -- python full_fs_run.py DIR fill-on TRIGGER -- ARGV...

`full`: the tmpfs is filled before ARGV starts. `fill-on TRIGGER`: ARGV starts on an empty
tmpfs, which is filled once the file TRIGGER exists (the test creates it mid-run). The exit
code is ARGV's. The mount lives and dies with this namespace: nothing outside sees it.
"""

import os
import subprocess
import sys
import time

SIZE = "1m"
POLL = 0.05


def fill(directory):
    """Write zeros into DIR until the filesystem is full."""
    with open(os.path.join(directory, "filler"), "wb", buffering=0) as handle:
        try:
            while handle.write(b"\0" * 4096):
                pass
        except OSError:
            pass  # ENOSPC: full


def main(argv):
    directory, mode = argv[0], argv[1]
    trigger = argv[2] if mode == "fill-on" else None
    command = argv[argv.index("--") + 1 :]
    os.makedirs(directory, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE},mode=0700", "tmpfs", directory], check=True)
    if mode == "full":
        fill(directory)
        os.execvp(command[0], command)
    child = subprocess.Popen(command)
    while child.poll() is None:
        if trigger and os.path.exists(trigger):
            fill(directory)
            trigger = None
        time.sleep(POLL)
    return child.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
