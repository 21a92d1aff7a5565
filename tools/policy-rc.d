#!/bin/sh
# The policy-rc.d that `make`'s apt phase bind-mounts on /usr/sbin/policy-rc.d for its one
# `apt-get install` (see tools/apt_packages.py): 101 = "action forbidden by policy", so packages
# install without starting their services on this machine.
exit 101
