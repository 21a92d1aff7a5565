"""Talking to a sandbox's cluster: salt, salt-run and salt-call in the right namespaces, commands on
hosts, TCP probes and HTTP load through the balancer."""

import json
import signal
import subprocess

from . import loadgen, netns
from .errors import SandboxError
from .hosts import WEB_PORT
from .spec import address6

SALT_TOOLS = {"salt", "salt-run", "salt-call", "salt-key", "salt-cp", "salt-master", "salt-minion"}


class Calls:
    """Sandbox's calls into the cluster (a mixin of Sandbox, whose record and lookups it uses)."""

    def _master_argv(self, argv, master=1):
        entry, server = self._master(master)
        argv = list(argv)
        if argv and argv[0] in SALT_TOOLS:
            tool = argv[0]
            argv[0] = str(self.bin_dir / tool)
            if not any(a in ("-c", "--config-dir") or a.startswith("--config-dir=") for a in argv[1:]):
                argv[1:1] = ["-c", str(server.conf_dir)]
        return ["nsenter", f"--net={netns.ns_path(entry['netns'])}", "--", *argv]

    @staticmethod
    def _run(argv, check=False, timeout=None, capture=True, input=None):
        extra = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL} if capture else {}
        return subprocess.run(argv, check=check, timeout=timeout, text=True, capture_output=capture, **extra)

    def salt(self, *args, check=False, timeout=None, capture=True, master=1):
        """`salt -c <master conf> ARGS` inside master ``master``'s netns."""
        return self._run(self._master_argv(["salt", *args], master), check, timeout, capture)

    def salt_run(self, *args, check=False, timeout=None, capture=True, master=1):
        """`salt-run -c <master conf> ARGS` inside master ``master``'s netns."""
        return self._run(self._master_argv(["salt-run", *args], master), check, timeout, capture)

    def salt_call(self, host, *args, check=False, timeout=None, capture=True):
        """`salt-call` on ``host``, inside its namespaces and with its minion config."""
        h = self._host(host)
        argv = h.enter(self._holder_pid(host), [str(self.bin_dir / "salt-call"), "-c", str(h.conf_dir), *args])
        return self._run(argv, check, timeout, capture)

    def exec(self, host, argv, check=False, timeout=None, capture=True, input=None):
        """Run ``argv`` inside ``host``'s network, mount and UTS namespaces.

        A command that leaves a daemon behind needs ``capture=False``: a captured daemon keeps
        the pipes open and the call waits for it. Such daemons are killed at ``down``.
        """
        if isinstance(argv, str) or not argv:
            raise SandboxError("exec: argv must be a non-empty list, not a shell string")
        h = self._host(host)
        return self._run(h.enter(self._holder_pid(host), argv), check, timeout, capture, input)

    def popen_in_master(self, argv, master=1, **kwargs):
        """Popen ``argv`` in master ``master``'s netns. A salt tool name as argv[0] gets the venv path and -c."""
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs.setdefault("text", True)
        return subprocess.Popen(self._master_argv(argv, master), **kwargs)

    def probe(self, host, timeout=1.0, ipv6=False):
        """True if the LB (source address = LB address) can open TCP to ``host``'s web port.

        With ``ipv6``, the same over the IPv6 twins (2001:db8:100::LB -> 2001:db8:100::HOST).
        """
        self._host(host)
        entry = self.record["hosts"][host]
        source, target = (address6(self.lb), entry["address6"]) if ipv6 else (self.lb, entry["address"])
        return netns.connect_from(self.record["lb"]["netns"], source, target, WEB_PORT, timeout).returncode == 0

    def web(self, host, timeout=2.0):
        """The body of GET / on ``host`` as the LB sees it, or None when unreachable."""
        self._host(host)
        entry = self.record["hosts"][host]
        proc = netns.connect_from(self.record["lb"]["netns"], self.lb, entry["address"], WEB_PORT, timeout, get=True)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def load(self, rate, seconds, timeout=30, slow_every=0):
        """GET / through HAProxy's frontend from the client namespace, ``rate`` per second for
        ``seconds``; returns {"sent", "ok", "failed", "failures", "versions", "latency", ...}.
        With ``slow_every`` K every K-th request is GET /slow (answered after 2 s). Bounded: it
        returns at most ``seconds + timeout`` (plus a margin) after it starts.
        """
        problem = loadgen.check_bounds(rate, seconds, timeout, slow_every)
        if problem:
            raise SandboxError(f"load: {problem}")
        self._balancer()
        client = self.record.get("client")
        argv = ["nsenter", f"--net={netns.ns_path(client['netns'])}", "--"]
        argv += loadgen.argv(self.lb, WEB_PORT, rate, seconds, timeout, slow_every)
        proc = self._run(argv, timeout=seconds + timeout + 30)
        if proc.returncode != 0:
            raise SandboxError(f"load: the load generator failed ({proc.returncode}): {proc.stderr.strip()}")
        return json.loads(proc.stdout)

    def start_load(self, rate, seconds, timeout=30):
        """The load of ``load`` in the background: (Popen, stop) where ``stop()`` ends the stream
        (SIGTERM: no more requests are sent, those in flight are awaited) and returns its summary.
        Bounded the same way: it stops by itself after ``seconds``."""
        problem = loadgen.check_bounds(rate, seconds, timeout)
        if problem:
            raise SandboxError(f"load: {problem}")
        self._balancer()
        client = self.record.get("client")
        argv = ["nsenter", f"--net={netns.ns_path(client['netns'])}", "--"]
        argv += loadgen.argv(self.lb, WEB_PORT, rate, seconds, timeout)
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=timeout + 30)
            if proc.returncode != 0:
                raise SandboxError(f"load: the load generator failed ({proc.returncode}): {err.strip()}")
            return json.loads(out)

        return proc, stop

    @staticmethod
    def _json_call(proc):
        """Merge the one-object-per-minion JSON that `salt --out=json` prints without --static.

        (--static would run the job in batch mode in Salt 3008: an extra test.ping first.)
        """
        merged, decoder, text, index = {}, json.JSONDecoder(), (proc.stdout or "").strip(), 0
        while index < len(text):
            try:
                doc, index = decoder.raw_decode(text, index)
            except ValueError:
                break
            if isinstance(doc, dict):
                merged.update(doc)
            while index < len(text) and text[index].isspace():
                index += 1
        return merged
