"""What the benchmark ran on, for RESULTS.md."""

import os
import platform
import sys


def _meminfo(key):
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def describe():
    import salt.version

    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_mib": _meminfo("MemTotal"),
        "kernel": platform.release(),
        "os": _os_release(),
        "python": sys.version.split()[0],
        "salt": salt.version.__version__,
    }


def load():
    return os.getloadavg()


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _os_release():
    try:
        with open("/etc/os-release", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None
