"""The run's side of the wall: a worker process per implementation, and the object that
stands for the adapter in the run (WalledImpl), answering from plain data only.

The run owns every bound here: each call has a deadline, after which the worker is killed
(its whole process group, whatever it does with signals and threads) and a new one is
started for the next call; a worker that exits, dies or writes anything but a message of the
protocol fails that call, with one line saying how. Workers start in a fresh temporary
folder, in a session of their own (Ctrl-C reaches the run alone), under an address-space
limit (MEMORY, --worker-memory).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .protocol import Closed, Late, ProtocolError, Reader, clean, pack, write_all

ROOT = str(Path(__file__).resolve().parents[2])  # the project's folder: harness/ and impls/
MEMORY = 8 * 2**30  # bytes of address space per worker (RLIMIT_AS); 0: no limit
LOAD_TIMEOUT = 60.0  # seconds at least for a worker to load its adapter (imports included)
LOG_TAIL = 300  # characters of a dead worker's log quoted in its error


class WorkerLost(Exception):
    """A call got no answer: the worker exited, died, overran or wrote garbage (the message
    says which); it has been stopped."""


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class Worker:
    """One worker process, started at once; `call()` waits for its answers."""

    def __init__(self, name: str, python: str = sys.executable, memory: int | None = None):
        self.name, self.python = name, python
        self.folder = tempfile.mkdtemp(prefix="bh-worker-")
        self.log_path = os.path.join(self.folder, "worker.log")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONPATH"] = ROOT
        with open(self.log_path, "wb") as log:
            try:
                self.proc = subprocess.Popen(
                    [python, "-m", "harness.wall.worker"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=log, cwd=self.folder, env=env,
                    start_new_session=True, close_fds=True)
            except OSError as exc:
                shutil.rmtree(self.folder, ignore_errors=True)
                raise WorkerLost(f"cannot start {python}: {exc.strerror}") from None
        self.reader = Reader(self.proc.stdout.fileno())
        self.out = self.proc.stdin.fileno()
        os.set_blocking(self.out, False)
        same = os.path.abspath(python) == os.path.abspath(sys.executable)  # not a venv's link
        path = [os.path.abspath(p) for p in sys.path if p] if same else []
        mem = MEMORY if memory is None else memory
        self.sent = time.monotonic()
        self._send({"op": "load", "name": name.partition("@")[0], "path": path, "memory": mem,
                    "cwd": os.getcwd()}, self.sent + LOAD_TIMEOUT)

    def _send(self, doc, deadline: float, arrays=()) -> None:
        try:
            write_all(self.out, pack(doc, list(arrays)), deadline)
        except (Late, Closed):
            pass  # the answer that does not come says why

    def call(self, doc, seconds: float, max_bytes: int = 1 << 20, sent: bool = False,
             arrays=()):
        """Send `doc` and its arrays (unless already sent: the load) and wait at most
        `seconds` for the answer; WorkerLost, the worker stopped, when none comes."""
        deadline = (self.sent if sent else time.monotonic()) + seconds
        if not sent:
            self._send(doc, deadline, arrays)
        try:
            return self.reader.read(deadline, max_bytes)
        except Late:
            self.kill()
            raise WorkerLost(f"timed out after {seconds:g} s") from None
        except Closed:
            raise WorkerLost(self._death()) from None
        except ProtocolError as exc:
            self.kill()
            raise WorkerLost(f"its worker wrote what is not a message of the protocol "
                             f"({exc})") from None

    def _death(self) -> str:
        try:
            code = self.proc.wait(5)
        except subprocess.TimeoutExpired:  # it closed its pipe and lives on
            self.kill()
            return "its worker closed its pipe"
        words = self._last_words()
        self.stop()
        how = f"was killed by {_signal_name(code)}" if code < 0 else f"exited with code {code}"
        return f"its worker process {how}{words}"

    def _last_words(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 4 * LOG_TAIL))
                tail = f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""
        lines = [ln for ln in tail.splitlines() if ln.strip()]
        return f"; its last words: {clean(lines[-1], LOG_TAIL)}" if lines else ""

    def kill(self) -> None:
        """Kill the worker and every process it started (its session)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.stop()

    def stop(self) -> None:
        """Ask the worker to stop; kill it if it does not; remove its folder."""
        if self.proc.poll() is None:
            self._send({"op": "stop"}, time.monotonic() + 1)
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)
