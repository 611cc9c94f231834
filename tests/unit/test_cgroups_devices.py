"""Device rules: spec entries -> v1 devices.allow/deny writes, and -> the v2
eBPF program, whose bytes are run here by a tiny interpreter of the
instructions the generator uses (no root, no kernel)."""
import struct

import pytest

from runc_py.cgroups import CgroupError
from runc_py.cgroups import devices as d

R, W, M = d.ACC_READ, d.ACC_WRITE, d.ACC_MKNOD
C, B = d.DEV_CHAR, d.DEV_BLOCK


def run(code, dev_type, major, minor, access):
    """Execute a device program on one access; returns its verdict (1 allow)."""
    ctx = [(access << 16) | dev_type, major, minor]
    reg = [0] * 11
    pc, steps = 0, 0
    n = len(code) // 8
    while True:
        assert 0 <= pc < n, "jumped out of the program"
        steps += 1
        assert steps < 10000
        op, regs, off, imm = struct.unpack_from("<BBhi", code, pc * 8)
        dst, src = regs & 0xF, regs >> 4
        if op == 0x61:
            assert src == 1 and off in (0, 4, 8), "only ctx loads are expected"
            reg[dst] = ctx[off // 4]
        elif op == 0xbf:
            reg[dst] = reg[src]
        elif op == 0xb7:
            reg[dst] = imm & 0xFFFFFFFFFFFFFFFF
        elif op == 0x57:
            reg[dst] &= imm & 0xFFFFFFFFFFFFFFFF
        elif op == 0x77:
            reg[dst] >>= imm
        elif op == 0x55:
            if reg[dst] != imm:
                pc += off
        elif op == 0x15:
            if reg[dst] == imm:
                pc += off
        elif op == 0x95:
            return reg[0]
        else:
            raise AssertionError(f"unexpected opcode {op:#x}")
        pc += 1


def verdict(rules, *query):
    return run(d.program(d.parse_rules(rules)), *query)


DENY_ALL = {"allow": False, "access": "rwm"}
NULL_RW = {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}

SEMANTICS = [
    # (rules, (type, major, minor, access), expected)
    ([], (C, 1, 3, R), 1),                                   # no rules: like v1's default
    ([DENY_ALL], (C, 1, 3, R), 0),
    ([DENY_ALL], (B, 8, 0, W), 0),
    ([DENY_ALL, NULL_RW], (C, 1, 3, R), 1),
    ([DENY_ALL, NULL_RW], (C, 1, 3, R | W), 1),
    ([DENY_ALL, NULL_RW], (C, 1, 3, M), 0),                  # m not granted
    ([DENY_ALL, NULL_RW], (C, 1, 3, R | M), 0),              # every bit must be granted
    ([DENY_ALL, NULL_RW], (B, 1, 3, R), 0),                  # type differs
    ([DENY_ALL, NULL_RW], (C, 1, 5, R), 0),                  # minor differs
    ([DENY_ALL, {"allow": True, "type": "c", "major": 136, "access": "rwm"}], (C, 136, 7, W), 1),
    ([DENY_ALL, {"allow": True, "type": "c", "access": "m"}], (C, 4, 4, M), 1),
    ([DENY_ALL, {"allow": True, "type": "c", "access": "m"}], (C, 4, 4, R), 0),
    # the last matching entry wins
    ([NULL_RW, DENY_ALL], (C, 1, 3, R), 0),
    ([DENY_ALL, NULL_RW, {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}],
     (C, 1, 3, R), 1),
    ([DENY_ALL, NULL_RW, {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "w"}],
     (C, 1, 3, R | W), 0),                                   # a deny of any bit denies
    # blacklist style: default allow, one device denied
    ([{"allow": False, "type": "b", "major": 8, "minor": 0}], (B, 8, 0, R), 0),
    ([{"allow": False, "type": "b", "major": 8, "minor": 0}], (B, 8, 1, R), 1),
    ([{"allow": False, "type": "b", "major": 8, "minor": 0}], (C, 8, 0, R), 1),
    # -1 is runc's wildcard
    ([DENY_ALL, {"allow": True, "type": "c", "major": 1, "minor": -1, "access": "r"}],
     (C, 1, 9, R), 1),
]


@pytest.mark.parametrize("rules,query,expected", SEMANTICS)
def test_program_semantics(rules, query, expected):
    assert verdict(rules, *query) == expected


def test_program_stops_after_a_rule_matching_everything():
    # the kernel verifier refuses unreachable instructions
    code = d.program(d.parse_rules([NULL_RW, DENY_ALL]))
    op, _, _, imm = struct.unpack_from("<BBhi", code, len(code) - 16)
    assert (op, imm) == (0xb7, 0) and code[-8] == 0x95
    assert len(code) == 8 * (6 + 2)     # prologue + "return 0"


V1 = [
    ([DENY_ALL], [("devices.deny", "a")]),
    ([{"allow": True, "access": "rwm"}], [("devices.allow", "a")]),
    ([NULL_RW], [("devices.allow", "c 1:3 rw")]),
    ([{"allow": True, "type": "b", "major": 8, "access": "mr"}], [("devices.allow", "b 8:* rm")]),
    ([{"allow": True, "type": "c", "minor": 3}], [("devices.allow", "c *:3 rwm")]),
    # an "a" entry narrower than everything becomes a char and a block entry
    ([{"allow": False, "access": "w"}], [("devices.deny", "c *:* w"), ("devices.deny", "b *:* w")]),
    ([{"allow": False, "type": "a", "major": 1, "access": "rwm"}],
     [("devices.deny", "c 1:* rwm"), ("devices.deny", "b 1:* rwm")]),
]


@pytest.mark.parametrize("rules,expected", V1)
def test_v1_writes(rules, expected):
    writes = d.v1_writes(d.parse_rules(rules))
    assert [(w.file, w.value) for w in writes] == expected
    assert all(w.controller == "devices" and w.field == "linux.resources.devices[0]"
               for w in writes)


BAD = [
    ([{"allow": True, "type": "x"}], "linux.resources.devices[0].type", "'x' is not a device type"),
    ([DENY_ALL, {"allow": True, "type": "p"}], "linux.resources.devices[1].type", "device type"),
    ([{"allow": True, "access": "rwx"}], "linux.resources.devices[0].access", "r, w and m"),
    ([{"type": "c"}], "linux.resources.devices[0].allow", "required"),
    ([{"allow": "yes"}], "linux.resources.devices[0].allow", "true or false"),
    ([{"allow": True, "major": -5}], "linux.resources.devices[0].major", "major number"),
    ([{"allow": True, "minor": 1 << 40}], "linux.resources.devices[0].minor", "minor number"),
    ([{"allow": True, "major": "1"}], "linux.resources.devices[0].major", "major number"),
    (["c 1:3 rwm"], "linux.resources.devices[0]", "must be an object"),
    ({"allow": True}, "linux.resources.devices", "must be an array"),
]


@pytest.mark.parametrize("rules,field,text", BAD)
def test_bad_rules_name_the_field(rules, field, text):
    with pytest.raises(CgroupError) as e:
        d.parse_rules(rules)
    assert e.value.field == field
    assert text in str(e.value) and field in str(e.value)


def test_default_rules_parse_and_allow_the_standard_devices():
    rules = d.default_rules()
    code = d.program(d.parse_rules(rules))
    assert run(code, C, 1, 3, R | W) == 1       # /dev/null
    assert run(code, C, 136, 2, R | W) == 1     # a pty
    assert run(code, B, 8, 0, R) == 0           # a disk
    assert run(code, B, 8, 0, M) == 1           # mknod of anything is allowed
