# gdb_writes.py -- run inside gdb-multiarch (`gdb-multiarch -nx -batch -x
# gdb_writes.py`) by tests/gdb_writes.rs: for each job "ADDRESS VARIABLE" of
# the file $GW_JOBS, start $GW_BINARY under $GW_QEMU's gdbstub, break at
# ADDRESS, `set var VARIABLE = VARIABLE + 1` at every hit, continue to the
# end and compare the program's output and exit status with an unperturbed
# run. One line per job to $GW_OUT: "ADDRESS VARIABLE RESULT [DETAIL]" with
# RESULT one of
#   changed      the output or the exit status differs (or the program
#                was killed by a signal)
#   same         the program ended with the unperturbed output
#   not-hit      the point was never reached: no write happened
#   cut          more than $GW_HITS hits, or $GW_SECONDS seconds: no verdict
#   unwritable   GDB refused the write (optimised out, not an lvalue, ...)
# One gdb session serves every job: the jobs are batched, a qemu process
# per job.

import os
import socket
import subprocess
import threading
import time

import gdb

QEMU = os.environ["GW_QEMU"]
BINARY = os.environ["GW_BINARY"]
JOBS = os.environ["GW_JOBS"]
OUT = os.environ["GW_OUT"]
HITS = int(os.environ.get("GW_HITS", "2000"))
SECONDS = float(os.environ.get("GW_SECONDS", "20"))

gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("set width 0")
gdb.execute("set tcp auto-retry off")
gdb.execute("set print thread-events off")
gdb.execute("file " + BINARY)


def command(port=None):
    if port is None:
        return [QEMU, BINARY]
    return [QEMU, "-g", str(port), BINARY]


def unperturbed():
    p = subprocess.run(command(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       timeout=SECONDS)
    return p.returncode, p.stdout


BASE = unperturbed()

state = {}


def on_exit(event):
    state["exited"] = getattr(event, "exit_code", None)


def on_stop(event):
    if isinstance(event, gdb.SignalEvent):
        state["signal"] = event.stop_signal


gdb.events.exited.connect(on_exit)
gdb.events.stop.connect(on_stop)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect(port):
    for _ in range(200):
        try:
            gdb.execute("target remote 127.0.0.1:%d" % port, to_string=True)
            return True
        except gdb.error:
            time.sleep(0.005)
    return False


def finish(proc):
    """End the session and the qemu process; (exit status, stdout)."""
    if "exited" not in state:
        try:
            gdb.execute("kill", to_string=True)
        except gdb.error:
            pass
    try:
        gdb.execute("disconnect", to_string=True)
    except gdb.error:
        pass
    try:
        out, _ = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    code = proc.returncode
    if state.get("exited") is not None:
        # The program's own exit status, as the gdbstub reported it.
        code = state["exited"]
    return code, out


def job(addr, var):
    state.clear()
    port = free_port()
    proc = subprocess.Popen(command(port), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    if not connect(port):
        finish(proc)
        return "cut", "no connection to the gdbstub"
    timer = threading.Timer(SECONDS, proc.kill)
    timer.start()
    bp = gdb.Breakpoint("*" + addr, internal=True)
    hits = 0
    result = None
    try:
        while result is None:
            try:
                gdb.execute("continue", to_string=True)
            except gdb.error as e:
                if "exited" in state:
                    break
                result = ("cut", "continue: %s" % str(e).splitlines()[0])
                break
            if "exited" in state:
                break
            if "signal" in state:
                result = ("changed", "signal %s" % state["signal"])
                break
            pc = int(gdb.parse_and_eval("$pc")) & 0xFFFFFFFFFFFFFFFF
            if pc != int(addr, 16):
                result = ("cut", "stopped at %#x" % pc)
                break
            hits += 1
            if hits > HITS:
                result = ("cut", "more than %d hits" % HITS)
                break
            try:
                gdb.execute("set var %s = %s + 1" % (var, var), to_string=True)
            except gdb.error as e:
                result = ("unwritable", str(e).splitlines()[0])
                break
    finally:
        timer.cancel()
        bp.delete()
    code, out = finish(proc)
    if result is not None:
        return result
    if hits == 0:
        return "not-hit", ""
    if "exited" not in state:
        return "cut", "the program did not exit (status %s)" % code
    if (code, out) != BASE:
        return "changed", "%d hits, exit status %s (unperturbed %s), output %s" % (
            hits, code, BASE[0], "the same" if out == BASE[1] else "differs")
    return "same", "%d hits" % hits


with open(JOBS) as jobs, open(OUT, "w") as out:
    for line in jobs:
        fields = line.split()
        if len(fields) != 2:
            continue
        addr, var = fields
        result, detail = job(addr, var)
        out.write("%s %s %s %s\n" % (addr, var, result, detail))
        out.flush()
