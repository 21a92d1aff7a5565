"""The Debian packages the python phase needs to build the venv with this interpreter.

    python3 tools/python_build_packages.py      # prints e.g. "gcc libc6-dev python3-dev python3-venv"

salt 3008.4 and its dependency timelib are published as sources only: salt builds in pure Python,
timelib is a C extension, so pip or uv needs a C compiler, the C library's headers and the
interpreter's own headers (Python.h). Debian's python3 keeps its headers in python3-dev and the
ensurepip that `python3 -m venv` needs in python3-venv; an interpreter built elsewhere (pyenv,
say) brings both, and then only the compiler is asked for. The apt phase installs whichever of
these is missing and leaves the others alone.
"""

import importlib.util
import os
import sysconfig

COMPILER = ["gcc", "libc6-dev"]


def needed():
    packages = list(COMPILER)
    if not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")):
        packages.append("python3-dev")
    if importlib.util.find_spec("ensurepip") is None:
        packages.append("python3-venv")
    return packages


if __name__ == "__main__":
    print(" ".join(needed()))
