#!/usr/bin/env python3
"""Writes the generated part of the fuzz seed corpora (docs/fuzzing.md).

    fuzz/seeds/make_seeds.py build/default/cli/proctor

Real traces come from the proctor binary (a failing seed of a mutant and a few
small scenarios); the rest is derived from them or written from the input
layouts the targets document at the top of their sources:

  corpus/trace_reader/   real traces, a condensed trace holding one event of
                         every kind seen, and truncated/corrupted variants
  corpus/json_codec/     one encoded value per kind, taken from the traces,
                         and malformed values
  corpus/failure_reason/ every VM-6 reason string and look-alikes, under
                         several exit statuses
  corpus/vm_config/      valid and invalid configs in the target's encoding
  corpus/world/          fault plans, as text and in the binary encoding

corpus/scenario_loader/ is scenarios/*.yaml plus the hand-written bad-*.yaml
files; this script only refreshes the copies of scenarios/*.yaml.

Files are overwritten, never deleted, so inputs that libFuzzer merged into a
corpus (named by their SHA-1) stay. Every file stays under MAX_SEED_BYTES.
"""

import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MAX_SEED_BYTES = 20 * 1024

# Small scenarios whose traces are real, complete and varied.
TRACE_SCENARIOS = [
    "pw3-suspend-twice-refused",
    "vm3-start-twice-refused",
    "vm5-hangup",
]
# Scenarios whose traces are too long to keep whole: their first events, with
# an end line computed for them.
PREFIX_SCENARIOS = ["cn2-exit-status", "vm9-vmm-arguments"]
PREFIX_EVENTS = 20
# More scenarios, only to find one encoded value of every kind.
KIND_SCENARIOS = TRACE_SCENARIOS + PREFIX_SCENARIOS + [
    "ch1-oversized-message-refused",
    "cn1-events-in-order",
    "cn10-startup-timing",
    "cn3-wait-is-idempotent",
    "cn4-container-ignores-sigterm",
    "cn5-agent-refuses-then-accepts",
    "cn6-boot-transient-retry",
    "cn7-ports-exhausted",
    "cn8-guest-paths",
    "cn9-block-devices",
    "ct1-counter-signals",
    "pw1-wake-source-replace-and-remove",
    "pw2-watcher-awake-asleep-awake",
    "pw3-suspend-reports-slept-time",
    "px1-forward-both-directions",
    "px4-cleanup-removes-wake-source",
    "rt2-shutdown-twice",
    "vm4-payload-forward",
    "vm6-exit-unobservable",
    "vm6-failure-reasons",
    "vm8-kill-only-running",
]
# VM-6's reason strings.
REASONS = [
    "PVM_FIRMWARE_PUBLIC_KEY_MISMATCH",
    "PVM_FIRMWARE_INSTANCE_IMAGE_CHANGED",
    "BOOTLOADER_PUBLIC_KEY_MISMATCH",
    "BOOTLOADER_INSTANCE_IMAGE_CHANGED",
    "MICRODROID_FAILED_TO_CONNECT_TO_VIRTUALIZATION_SERVICE",
    "MICRODROID_PAYLOAD_HAS_CHANGED",
    "MICRODROID_PAYLOAD_VERIFICATION_FAILED",
    "MICRODROID_INVALID_PAYLOAD_CONFIG",
    "MICRODROID_UNKNOWN_RUNTIME_ERROR",
    "HANGUP",
]
# sim/world/fault_kind.h, in index order.
FAULT_KINDS = [
    "vmm_spawn_fail", "vmm_crash_at_boot", "guest_hang", "guest_slow_start",
    "guest_panic", "guest_reboot", "failure_reason", "vmm_exit_unobservable",
    "payload_out_of_order", "container_ignores_sigterm", "container_crash",
    "agent_refuses", "agent_never_accepts", "boot_transient_error",
    "boot_permanent_error", "remote_burst_then_close",
    "container_closes_channel", "peer_oversized_message", "completion_delay",
    "cgroup_memory_pressure", "handle_wake",
]


def write(folder, name, data):
    if isinstance(data, str):
        data = data.encode()
    assert len(data) <= MAX_SEED_BYTES, (folder, name, len(data))
    path = os.path.join(CORPUS, folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---- Traces ----

def fnv_step(previous, line):
    h = 0xCBF29CE484222325
    for b in struct.pack("<Q", previous) + line:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def dumps(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def build_trace(header, events, violation=None):
    """A complete trace: events renumbered 1.., the end line computed."""
    lines = [dumps(header)]
    h = 0xCBF29CE484222325
    for i, event in enumerate(events, 1):
        event = dict(event)
        event["seq"] = i
        ordered = {"seq": i, "t_ns": event["t_ns"], "dir": event["dir"]}
        ordered.update({k: v for k, v in event.items() if k not in ordered})
        line = dumps(ordered)
        h = fnv_step(h, line.encode())
        lines.append(line)
    end = {"end": True, "events": len(events), "hash": "%016x" % h,
           "verdict": "fail" if violation else "pass", "violation": violation}
    lines.append(dumps(end))
    return "\n".join(lines) + "\n"


def read_trace(path):
    with open(path, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return lines[0], lines[1:-1], lines[-1]


def make_traces(proctor, tmp):
    traces = {}
    for name in KIND_SCENARIOS:
        path = os.path.join(tmp, name + ".jsonl")
        subprocess.run([proctor, "run", os.path.join(ROOT, "scenarios", name + ".yaml"),
                        "--trace", path], check=False, stdout=subprocess.DEVNULL)
        traces[name] = path
    for seed, mutant in [(7, "on-died-twice"), (159, "on-died-twice")]:
        out = os.path.join(tmp, "%s-%d" % (mutant, seed))
        os.makedirs(out, exist_ok=True)
        subprocess.run([proctor, "sim", "--seeds", "%d..%d" % (seed, seed), "--mutant", mutant,
                        "--vms", "1", "--proxies", "1", "--containers", "1",
                        "--trace-dir", out], check=False, stdout=subprocess.DEVNULL)
        traces["%s-%d" % (mutant, seed)] = os.path.join(out, "seed-%d.jsonl" % seed)

    folder = "trace_reader"
    for name in TRACE_SCENARIOS + ["on-died-twice-159"]:
        with open(traces[name], "rb") as f:
            write(folder, "real-%s.jsonl" % name, f.read())

    # The brief's failing seed is 119 KB: keep its start, which a reader must
    # report as truncated, and a condensed trace with one event of each kind.
    with open(traces["on-died-twice-7"], "rb") as f:
        seed7 = f.read()
    cut = seed7[:4000]
    write(folder, "seed7-truncated-at-line.jsonl", cut[:cut.rfind(b"\n") + 1])
    write(folder, "seed7-truncated-mid-line.jsonl", cut)
    header, events, end = read_trace(traces["on-died-twice-7"])
    seen, condensed = set(), []
    for event in events:
        if event["kind"] not in seen:
            seen.add(event["kind"])
            condensed.append(event)
    violation = dict(end["violation"])
    violation["seq"] = len(condensed)
    violation["t_ns"] = condensed[-1]["t_ns"]
    write(folder, "seed7-one-event-per-kind.jsonl", build_trace(header, condensed, violation))

    for name in PREFIX_SCENARIOS:
        header, events, _ = read_trace(traces[name])
        write(folder, "prefix-%s.jsonl" % name, build_trace(header, events[:PREFIX_EVENTS]))

    # Corrupted variants of a short trace (a failing seed's first events, its
    # plan cut to two faults), each breaking one rule of "Reading strictly"
    # in docs/trace-format.md. Small, so that what the fuzzer derives from
    # them stays small too.
    header, events, end = read_trace(traces["on-died-twice-159"])
    header["fault_plan"] = header["fault_plan"][:2]
    events = events[:12]
    good = build_trace(header, events)
    end = json.loads(good.splitlines()[-1])
    lines = good.splitlines(keepends=True)

    def variant(name, text):
        write(folder, "bad-%s.jsonl" % name, text)

    variant("empty", "")
    variant("header-only", lines[0])
    write(folder, "no-final-newline.jsonl", good.rstrip("\n"))
    variant("crlf", good.replace("\n", "\r\n"))
    variant("version-2", lines[0].replace('"version":1', '"version":2') + "".join(lines[1:]))
    variant("other-format", lines[0].replace("proctor-trace", "other-trace") + "".join(lines[1:]))
    variant("unknown-header-member", lines[0].replace('"swarm"', '"extra":1,"swarm"') + "".join(lines[1:]))
    variant("seq-gap", "".join(lines[:3] + lines[4:]))
    e = events[:]
    e[2] = dict(e[2], t_ns=e[1]["t_ns"] - 1) if e[1]["t_ns"] > 0 else dict(e[2], t_ns=-1)
    variant("time-backwards", build_trace(header, e))
    variant("unknown-dir", build_trace(header, [dict(events[0], dir="sideways")] + events[1:]))
    variant("unknown-kind", build_trace(header, [dict(events[0], kind="start_vmm")] + events[1:]))
    variant("extra-field", build_trace(header, [dict(events[0], extra=1)] + events[1:]))
    first = dict(events[0])
    first.pop([k for k in first if k not in ("seq", "t_ns", "dir", "kind")][0])
    variant("missing-field", build_trace(header, [first] + events[1:]))
    good_end = json.loads(lines[-1])
    variant("wrong-hash", "".join(lines[:-1]) + lines[-1].replace(good_end["hash"], "0123456789abcdef"))
    variant("wrong-count", "".join(lines[:-1]) + lines[-1].replace('"events":%d' % len(events), '"events":%d' % (len(events) + 1)))
    variant("verdict-disagrees", "".join(lines[:-1]) + lines[-1].replace('"verdict":"pass"', '"verdict":"fail"'))
    variant("after-end", good + lines[1])
    variant("not-json", "".join(lines[:2]) + "{not json\n" + "".join(lines[2:]))
    variant("deep", lines[0] + "[" * 40 + "]" * 40 + "\n")
    variant("array-line", lines[0] + "[1,2,3]\n")
    variant("empty-line", lines[0] + "\n" + "".join(lines[1:]))
    variant("huge-seq", lines[0] + '{"seq":18446744073709551616,"t_ns":0,"dir":"in","kind":"shutdown","request":1}\n')
    write(folder, "base64-bytes.jsonl", build_trace(header, [{"t_ns": 0, "dir": "in", "kind": "failure_reason_read", "cid": 3,
                                                  "bytes": {"base64": "SEFOR1VQAAo="}}]))
    variant("invalid-utf8", "".join(lines[:2]).encode() + b'{"seq":2,"t_ns":0,"dir":"in","kind":"\xff"}\n')
    return traces


# ---- JSON values ----

def make_json_values(traces):
    folder = "json_codec"
    seen = {}
    for name in KIND_SCENARIOS + ["on-died-twice-7"]:
        _, events, _ = read_trace(traces[name])
        for event in events:
            value = {k: v for k, v in event.items() if k not in ("seq", "t_ns", "dir")}
            key = (event["dir"], event["kind"])
            text = dumps(value)
            # Keep the richest example of each kind: the one with most members.
            if key not in seen or len(text) > len(seen[key]):
                if len(text) <= 4096:
                    seen[key] = text
    for (direction, kind), text in sorted(seen.items()):
        write(folder, "%s-%s.json" % (direction, kind), text)
    for name, text in [
        ("bad-unknown-kind", '{"kind":"start_vmm","cid":5}'),
        ("bad-missing-field", '{"kind":"start_vm","request":2}'),
        ("bad-extra-field", '{"kind":"start_vm","request":2,"cid":5,"x":1}'),
        ("bad-wrong-type", '{"kind":"start_vm","request":"2","cid":5}'),
        ("bad-out-of-range", '{"kind":"start_vm","request":2,"cid":4294967296}'),
        ("bad-negative-id", '{"kind":"start_vm","request":-2,"cid":5}'),
        ("bad-float", '{"kind":"start_vm","request":2.5,"cid":5}'),
        ("bad-exit-status", '{"kind":"vmm_exited","cid":5,"status":"Exit(x)"}'),
        ("bad-base64", '{"kind":"failure_reason_read","cid":5,"bytes":{"base64":"@@@"}}'),
        ("base64-bytes", '{"kind":"failure_reason_read","cid":5,"bytes":{"base64":"AP8BIGJhZA=="}}'),
        ("inf-grace", '{"kind":"stop_container","request":4,"container":1,"grace_ns":"inf"}'),
        ("neg-inf-timeout", '{"kind":"create_vm","request":1,"config":{"cid":3,"kernel":"/k","platform_version":"~1.0","protected_vm":false,"detect_hangup":true,"hangup_timeout_ns":"-inf","disks":[],"task_profiles":[]}}'),
        ("signal-bits", '{"kind":"endpoint_signalled","endpoint":3,"signals":"READABLE|PEER_CLOSED|BIT_30"}'),
        ("bad-not-object", '[1,2,3]'),
        ("bad-kind-number", '{"kind":7}'),
        ("bad-deep", '{"kind":"reply","request":1,"status":' + '{"a":' * 30 + '1' + '}' * 30 + '}'),
        ("bad-duplicate-key", '{"kind":"start_vm","request":2,"cid":5,"cid":6}'),
        ("reply-error", '{"kind":"reply","request":9,"status":{"code":"NOT_FOUND","message":"VM-3: no VM with cid 9"}}'),
        ("reply-event-batch", '{"kind":"reply","request":3,"status":"OK","value":{"event_batch":{"events":[{"container":3,"event":{"kind":"exit","status":"Signalled(SIGKILL)"}}],"missed":2}}}'),
    ]:
        write(folder, name + ".json", text)


# ---- failure_reason ----

def make_failure_reasons():
    folder = "failure_reason"

    def seed(name, mode, value, report):
        if isinstance(report, str):
            report = report.encode()
        write(folder, name + ".bin", struct.pack("<Bi", mode, value) + report)

    for i, reason in enumerate(REASONS):
        seed("reason-%d" % i, 1, 0, reason)
        seed("reason-%d-newline" % i, 1, 33, reason + "\n")
    seed("two-newlines", 1, 0, REASONS[5] + "\n\n")
    seed("lower-case", 1, 0, REASONS[5].lower())
    seed("nul-inside", 1, 0, REASONS[5] + "\x00")
    seed("crlf", 1, 0, REASONS[5] + "\r\n")
    seed("prefix", 1, 0, REASONS[5][:-1])
    seed("leading-space", 1, 0, " " + REASONS[5])
    seed("past-bound", 1, 0, "A" * 4096 + REASONS[9])
    seed("at-bound", 1, 0, " " * (4096 - len(REASONS[9])) + REASONS[9])
    seed("reason-then-junk-past-bound", 1, 0, REASONS[9] + "\n" + "x" * 4100)
    seed("no-exit", 0, 0, REASONS[0])
    seed("hung-up", 1 | 4, 0, REASONS[0])
    seed("hung-up-no-exit", 0 | 4, 0, "")
    seed("signalled-kill", 2, 9, "")
    seed("signalled-77", 2, 77, "garbage")
    seed("exit-1", 1, 1, "")
    seed("exit-32", 1, 32, "")
    seed("exit-33", 3, 33, "")
    seed("exit-negative", 1, -1, "\xff\xfe")
    seed("empty", 1, 0, "")
    write(folder, "short.bin", b"\x01\x21")


# ---- vm_config ----

def vm_config_bytes(cid=None, bootloader=None, kernel=None, initrd=None, params=None,
                    cpu_affinity=None, console_sink=None, log_sink=None, memory_mib=None,
                    cpus=None, protected_vm=False, detect_hangup=False, hangup_timeout=None,
                    platform_version=None, platform=None, nested=False, disks=(), profiles=()):
    """The encoding vm_config_fuzz.cc decodes."""
    def string(s):
        b = s.encode() if isinstance(s, str) else s
        if len(b) < 255:
            return bytes([len(b)]) + b
        return b"\xff" + struct.pack("<H", len(b)) + b

    strings = [bootloader, kernel, initrd, params, cpu_affinity, console_sink, log_sink]
    f0 = sum(1 << i for i, s in enumerate(strings) if s is not None)
    if memory_mib is not None:
        f0 |= 1 << 7
    f1 = ((cpus is not None) | protected_vm << 1 | detect_hangup << 2 |
          (hangup_timeout is not None) << 3 | (platform_version is not None) << 4 |
          (platform is not None) << 5 | nested << 6 | (cid is not None and cid >= 256) << 7)
    out = bytes([f0, f1])
    if cid is not None and cid >= 256:
        out += struct.pack("<I", cid)
    else:
        out += bytes([((cid or 3) - 3) % 8])
    for s in strings:
        if s is not None:
            out += string(s)
    if memory_mib is not None:
        out += struct.pack("<I", memory_mib)
    if cpus is not None:
        out += struct.pack("<I", cpus)
    if hangup_timeout is not None:
        if hangup_timeout == "inf":
            out += b"\xff"
        elif hangup_timeout == "-inf":
            out += b"\xfe"
        else:
            out += b"\x00" + struct.pack("<q", hangup_timeout)
    if platform_version is not None:
        out += string(platform_version)
    if platform is not None:
        out += bytes(platform)
    out += bytes([len(disks)])
    for image, writable in disks:
        out += bytes([writable]) + string(image)
    out += bytes([len(profiles)])
    for p in profiles:
        out += string(p)
    return out


def make_vm_configs():
    folder = "vm_config"
    seeds = {
        "kernel-only": dict(kernel="/images/vmlinux"),
        "bootloader-only": dict(bootloader="/images/bios"),
        "full": dict(kernel="/k", initrd="/initrd", params="console=hvc0 quiet", cpu_affinity="0-1",
                     console_sink="/console", log_sink="/log", memory_mib=512, cpus=2,
                     protected_vm=True, detect_hangup=True, hangup_timeout=12_000_000_000,
                     platform_version=">=1.0, <2", disks=[("/d0", True), ("/d1", False)],
                     profiles=["a", "b", "c"]),
        "protected-16-disks": dict(kernel="/k", protected_vm=True,
                                   disks=[("/d%d" % i, i % 2 == 0) for i in range(16)]),
        "too-many-disks": dict(kernel="/k", disks=[("/d%d" % i, False) for i in range(17)]),
        "too-many-profiles": dict(kernel="/k", profiles=["p%d" % i for i in range(33)]),
        "neither": dict(),
        "both": dict(bootloader="/b", kernel="/k"),
        "bootloader-and-initrd": dict(bootloader="/b", initrd="/i"),
        "reserved-cid": dict(kernel="/k", cid=0x10000002),
        "big-cid": dict(kernel="/k", cid=0xFFFFFFFF),
        "empty-kernel": dict(kernel=""),
        "empty-disk": dict(kernel="/k", disks=[("", True)]),
        "long-path": dict(kernel="/" + "k" * 4096),
        "long-params": dict(kernel="/k", params="x" * 4097),
        "zero-memory": dict(kernel="/k", memory_mib=0),
        "zero-cpus": dict(kernel="/k", cpus=0),
        "zero-timeout": dict(kernel="/k", detect_hangup=True, hangup_timeout=0),
        "negative-timeout": dict(kernel="/k", hangup_timeout=-1),
        "inf-timeout": dict(kernel="/k", hangup_timeout="inf"),
        "neg-inf-timeout": dict(kernel="/k", hangup_timeout="-inf"),
        "version-caret": dict(kernel="/k", platform_version="^1.0.0"),
        "version-tilde-mismatch": dict(kernel="/k", platform_version="~2.1"),
        "version-wildcards": dict(kernel="/k", platform_version="1.x, >=0.9.*, <=1.0.0, =1.*"),
        "version-garbage": dict(kernel="/k", platform_version=">>1..0"),
        "version-too-long": dict(kernel="/k", platform_version="1" * 300),
        "platform-2.3.4": dict(kernel="/k", platform_version=">=2", platform=[2, 3, 4], nested=True),
        "binary-strings": dict(kernel=b"/k\x00\xff", console_sink=b"\x01", cpu_affinity=b"\xfe",
                               profiles=[b"\xc3\x28", ""]),
        "sink-lookalike": dict(kernel="/k", console_sink="@failure,hardware=serial,num=2",
                               disks=[("--serial=type=sink", False)]),
    }
    for name, kwargs in seeds.items():
        write(folder, name + ".bin", vm_config_bytes(**kwargs))


# ---- world ----

def world_bytes(seed, faults):
    """The binary encoding world_fuzz.cc decodes: (kind, target, at16, a, b)."""
    out = struct.pack("<Q", seed)
    for kind, target, at16, a, b in faults:
        out += struct.pack("<BBHBB", FAULT_KINDS.index(kind), target, at16, a, b)
    return out


def make_world_plans():
    folder = "world"
    # Binary: targets are raw bytes (VM: cid = 2 + t % 4; container and proxy:
    # t % 4; handle source: t % 4); at16 spreads over the 10 s window.
    write(folder, "no-faults.bin", world_bytes(1, []))
    write(folder, "vm-faults.bin", world_bytes(2, [
        ("vmm_spawn_fail", 1, 100, 0, 0), ("guest_slow_start", 2, 3000, 40, 0),
        ("failure_reason", 1, 9000, 9, 33), ("guest_panic", 2, 20000, 0, 0),
        ("vmm_exit_unobservable", 1, 30000, 0, 0), ("payload_out_of_order", 2, 40000, 1, 0),
        ("guest_reboot", 1, 50000, 0, 0), ("vmm_crash_at_boot", 2, 60000, 0, 0)]))
    write(folder, "container-faults.bin", world_bytes(3, [
        ("container_ignores_sigterm", 1, 500, 0, 0), ("boot_transient_error", 2, 800, 3, 0),
        ("agent_refuses", 1, 1200, 7, 0), ("agent_never_accepts", 2, 1500, 110, 0),
        ("container_crash", 1, 30000, 0, 0), ("boot_permanent_error", 2, 40000, 0, 0),
        ("cgroup_memory_pressure", 1, 45000, 20, 0)]))
    write(folder, "proxy-faults.bin", world_bytes(4, [
        ("remote_burst_then_close", 1, 10000, 50, 0), ("container_closes_channel", 2, 20000, 0, 0),
        ("peer_oversized_message", 1, 5000, 0, 1), ("peer_oversized_message", 2, 6000, 0, 0),
        ("completion_delay", 0, 1000, 200, 100), ("handle_wake", 1, 7000, 0, 50)]))
    write(folder, "every-kind.bin", world_bytes(5, [
        (k, i, i * 3000, i * 7 % 256, i * 13 % 256) for i, k in enumerate(FAULT_KINDS)]))
    write(folder, "missing-targets.bin", world_bytes(6, [
        ("guest_hang", 0, 100, 0, 0), ("container_crash", 3, 200, 0, 0),
        ("remote_burst_then_close", 3, 300, 5, 0), ("handle_wake", 3, 400, 0, 5)]))
    write(folder, "same-instant.bin", world_bytes(7, [
        ("guest_panic", 1, 0, 0, 0), ("guest_panic", 1, 0, 0, 0), ("vmm_spawn_fail", 1, 0, 0, 0)]))
    # Text: printed plans, some with times past the window and odd values.
    write(folder, "plan-generated.txt",
          "# seed=41\n"
          "enabled=" + ",".join(FAULT_KINDS) + "\n"
          "at=0.260037263s kind=container_ignores_sigterm target=1 a=0 b=0\n"
          "at=0.309834516s kind=boot_transient_error target=1 a=3 b=0\n"
          "at=0.370362422s kind=agent_refuses target=1 a=7 b=0\n"
          "at=1.052964165s kind=vmm_exit_unobservable target=3 a=0 b=0\n"
          "at=1.086682235s kind=handle_wake target=1 a=0 b=347\n"
          "at=3.606575477s kind=failure_reason target=3 a=16 b=33\n"
          "at=4.086962450s kind=guest_slow_start target=4 a=2856 b=0\n"
          "at=5.047311315s kind=vmm_spawn_fail target=3 a=0 b=0\n"
          "at=5.717512846s kind=payload_out_of_order target=3 a=1 b=0\n"
          "at=7.145162312s kind=guest_panic target=4 a=0 b=0\n"
          "at=8.888081629s kind=container_crash target=2 a=0 b=0\n"
          "at=9.5s kind=remote_burst_then_close target=2 a=10 b=0\n")
    write(folder, "plan-empty.txt", "# seed=3\nenabled=\n")
    write(folder, "plan-after-window.txt",
          "enabled=guest_hang,completion_delay\n"
          "at=25s kind=guest_hang target=3 a=0 b=0\n"
          "at=0.5s kind=completion_delay target=0 a=1500 b=8000\n")
    write(folder, "plan-comments-any-order.txt",
          "# seed=9\n\n# a comment\nenabled=guest_reboot,peer_oversized_message\n"
          "  b=0 a=0 target=3 kind=guest_reboot at=2s  \n"
          "\tat=3.000000001s kind=peer_oversized_message target=2 a=0 b=1\n")
    write(folder, "plan-bad-kind.txt", "enabled=guest_hang\nat=1s kind=guest_hung target=3 a=0 b=0\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fuzz/seeds/make_seeds.py PATH_TO_PROCTOR")
    proctor = os.path.abspath(sys.argv[1])
    for name in os.listdir(os.path.join(ROOT, "scenarios")):
        if name.endswith(".yaml"):
            shutil.copy(os.path.join(ROOT, "scenarios", name),
                        os.path.join(CORPUS, "scenario_loader", name))
    with tempfile.TemporaryDirectory() as tmp:
        traces = make_traces(proctor, tmp)
        make_json_values(traces)
    make_failure_reasons()
    make_vm_configs()
    make_world_plans()


if __name__ == "__main__":
    main()
