#!/usr/bin/env python3
"""A sampling profiler for a Lethe boot in QEMU, through QEMU's gdbstub (scripts/profile).

    profile.py --port PORT --log SERIAL_LOG --kernel ELF --user ELF [--rate HZ] [--top N]

Waits until the serial log shows "LETHE_PLAN begin" (bench/init.c), then, until
"LETHE_PLAN end" or until QEMU goes away, RATE times a second: stops the machine (the
gdbstub's interrupt), reads every vCPU's instruction pointer and, in the kernel, walks its
frame-pointer chain (the kernel is built with frame pointers), and lets the machine go on.
Prints, over all vCPU samples: the share halted (the instruction before the pointer is
`hlt`), in user mode and in the kernel; the functions where the samples fall (self); and
the kernel functions on the sampled stacks (inclusive: a function counts once a sample).

User addresses are named from the user ELF (the benchmark program; /init's few samples
get its names too). Stopping the machine costs host time, so a profiled run's own timings
are not benchmark figures. Functions of the precompiled `core` do not keep frame pointers:
a sample in one (memcpy, say) shows its caller's caller, not its caller, in the stack.
"""
import argparse
import bisect
import collections
import os
import random
import socket
import subprocess
import sys
import time

USER_END = 0x0000_8000_0000_0000
RIP = 16  # register number of rip in gdb's x86-64 description
RBP = 6
MAX_FRAMES = 24


class Gdbstub:
    """A minimal client of the GDB remote serial protocol. QEMU stops the machine when a
    debugger connects; `__init__` leaves it stopped."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        # Small packets each way: without this, Nagle's algorithm and delayed ACKs make
        # every round trip 40 ms.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.command("?")

    def send(self, data):
        payload = data.encode()
        self.sock.sendall(b"$" + payload + b"#%02x" % (sum(payload) & 0xFF))

    def receive(self):
        while True:
            start = self.buffer.find(b"$")
            end = self.buffer.find(b"#", start) if start >= 0 else -1
            if end >= 0 and len(self.buffer) >= end + 3:
                payload, self.buffer = self.buffer[start + 1:end], self.buffer[end + 3:]
                self.sock.sendall(b"+")
                return self.expand(payload.decode())
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the gdbstub closed the connection")
            self.buffer += chunk

    @staticmethod
    def expand(payload):
        """Undoes run-length encoding ("X*n": X repeated ord(n) - 29 more times)."""
        if "*" not in payload:
            return payload
        out, index = [], 0
        while index < len(payload):
            if payload[index] == "*":
                out.append(out[-1] * (ord(payload[index + 1]) - 29))
                index += 2
            else:
                out.append(payload[index])
                index += 1
        return "".join(out)

    def command(self, data):
        self.send(data)
        return self.receive()

    def stop(self):
        self.sock.sendall(b"\x03")
        return self.receive()

    def go_on(self):
        self.send("c")

    def threads(self):
        ids, reply = [], self.command("qfThreadInfo")
        while reply.startswith("m"):
            ids += reply[1:].split(",")
            reply = self.command("qsThreadInfo")
        return ids

    def select(self, thread):
        self.command("Hg" + thread)

    def register(self, number):
        return int.from_bytes(bytes.fromhex(self.command("p%x" % number)), "little")

    def memory(self, address, length):
        reply = self.command("m%x,%x" % (address, length))
        if reply.startswith("E") or len(reply) != 2 * length:
            return None
        return bytes.fromhex(reply)


class Symbols:
    """Function names by address, from `nm`."""

    def __init__(self, elf):
        self.starts, self.names = [], []
        if not elf or not os.path.exists(elf):
            return
        output = subprocess.run(["nm", "-n", "-C", "--defined-only", elf], capture_output=True, text=True).stdout
        for line in output.splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[1] in "tTwW":
                self.starts.append(int(parts[0], 16))
                self.names.append(parts[2])

    def name(self, address):
        index = bisect.bisect_right(self.starts, address) - 1
        return self.names[index] if index >= 0 else "0x%x" % address


def shorten(name, width=110):
    return name if len(name) <= width else name[: width - 3] + "..."


def wait_for(log, marker, qemu_gone):
    while True:
        if os.path.exists(log) and marker in open(log, errors="replace").read():
            return True
        if qemu_gone():
            return False
        time.sleep(0.2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--user")
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pid", type=int, help="QEMU's pid: stop when it is gone")
    args = parser.parse_args()

    def qemu_gone():
        if args.pid is None:
            return False
        try:
            os.kill(args.pid, 0)
            return False
        except ProcessLookupError:
            return True

    kernel, user = Symbols(args.kernel), Symbols(args.user)
    if not wait_for(args.log, "LETHE_PLAN begin", qemu_gone):
        sys.exit("profile: the boot ended before its plan began")
    stub = Gdbstub(args.port)
    vcpus = stub.threads()
    stub.go_on()

    halted_at = {}
    kinds = collections.Counter()
    self_counts = collections.Counter()
    inclusive = collections.Counter()
    samples = 0
    log_size = 0
    started = time.monotonic()
    while True:
        time.sleep(random.uniform(0.5, 1.5) / args.rate)
        try:
            stub.stop()
        except (EOFError, ConnectionError):
            break
        for vcpu in vcpus:
            stub.select(vcpu)
            rip = stub.register(RIP)
            if rip < USER_END:
                kinds["user"] += 1
                self_counts["user   " + user.name(rip)] += 1
                continue
            if rip not in halted_at:
                before = stub.memory(rip - 1, 1)
                halted_at[rip] = before == b"\xf4"
            if halted_at[rip]:
                kinds["halted"] += 1
                continue
            kinds["kernel"] += 1
            self_counts["kernel " + kernel.name(rip)] += 1
            on_stack = {kernel.name(rip)}
            frame = stub.register(RBP)
            for _ in range(MAX_FRAMES):
                if frame < USER_END or frame % 8:
                    break
                words = stub.memory(frame, 16)
                if words is None:
                    break
                frame, return_address = int.from_bytes(words[:8], "little"), int.from_bytes(words[8:], "little")
                if return_address < USER_END:
                    break
                on_stack.add(kernel.name(return_address - 1))
            for name in on_stack:
                inclusive[name] += 1
        samples += 1
        stub.go_on()
        size = os.path.getsize(args.log)
        if size != log_size:
            log_size = size
            if "LETHE_PLAN end" in open(args.log, errors="replace").read():
                break
    elapsed = time.monotonic() - started
    try:
        stub.stop()
        stub.command("D")
    except (EOFError, ConnectionError, OSError):
        pass

    total = sum(kinds.values())
    if not total:
        sys.exit("profile: no samples")
    busy = total - kinds["halted"]
    print("profile: %d samples of %d vCPUs in %.1f s (%.0f a second)" % (samples, len(vcpus), elapsed, samples / elapsed))
    print("all vCPU samples: halted %.1f%%, user %.1f%%, kernel %.1f%%" % tuple(
        100.0 * kinds[kind] / total for kind in ("halted", "user", "kernel")))
    print()
    print("where the busy samples fall (self), share of %d busy samples" % busy)
    for name, count in self_counts.most_common(args.top):
        print("  %5.1f%%  %6d  %s" % (100.0 * count / busy, count, shorten(name)))
    print()
    print("kernel functions on the sampled stacks (inclusive), share of %d busy samples" % busy)
    for name, count in inclusive.most_common(args.top):
        print("  %5.1f%%  %6d  %s" % (100.0 * count / busy, count, shorten(name)))


if __name__ == "__main__":
    main()
