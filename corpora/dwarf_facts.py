#!/usr/bin/env python3
"""dwarf_facts.py -- write corpora/DWARF.md: the expected DWARF facts of the
<target>/dwarf-*.so test binaries, read off llvm-dwarfdump, readelf and the
target's objdump.  Run by build.sh from corpora/ (python3 dwarf_facts.py
LLVM_DWARFDUMP > DWARF.md); it also cross-checks every <target>/*.counts
file (written by build.sh with shell one-liners) against its own parse of
the DIE tree and against readelf's decoded line table, and fails if they
disagree.

Standard library only.  Output is deterministic (sorted, no timestamps).
"""
import os
import re
import subprocess
import sys

DWARFDUMP = sys.argv[1] if len(sys.argv) > 1 else "llvm-dwarfdump"

TARGETS = [
    # dir, objdump, readelf
    ("x86_64", "objdump", "readelf"),
    ("aarch64", "aarch64-linux-gnu-objdump", "aarch64-linux-gnu-readelf"),
    ("aarch64-lse", "aarch64-linux-gnu-objdump", "aarch64-linux-gnu-readelf"),
    ("ppc64", "powerpc64-linux-gnu-objdump", "powerpc64-linux-gnu-readelf"),
    ("ppc64le", "powerpc64le-linux-gnu-objdump", "powerpc64le-linux-gnu-readelf"),
]
VARIANTS = ["O0", "O2", "O3", "O2-dwarf4"]
ARCH = {"x86_64": "x86", "aarch64": "arm", "aarch64-lse": "arm",
        "ppc64": "ppc", "ppc64le": "ppc"}

# load-linked mnemonics (an LL/SC loop inside an inline instance)
LL_RE = re.compile(r"^(ld[a]?xr[bh]?|ld[a]?xp|l[bhwd]arx|lqarx)$")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout


# ---- llvm-dwarfdump --debug-info ------------------------------------------
DIE_RE = re.compile(r"^0x([0-9a-f]+):( +)(DW_TAG_\w+|NULL)\s*$")
ATTR_RE = re.compile(r"^\s+(DW_AT_\w+)\t\((.*)$")
RANGE_RE = re.compile(r"\[0x([0-9a-f]+), 0x([0-9a-f]+)\)(?:: (.*))?")


class Die:
    def __init__(self, off, tag, depth):
        self.off, self.tag, self.depth = off, tag, depth
        self.attrs = {}        # name -> raw text (first line)
        self.cont = {}         # name -> continuation lines
        self.children = []
        self.parent = None

    def name(self, dies):
        if "DW_AT_name" in self.attrs:
            return self.attrs["DW_AT_name"].rstrip(")").strip('"')
        for a in ("DW_AT_abstract_origin", "DW_AT_specification"):
            if a in self.attrs:
                m = re.match(r"0x([0-9a-f]+)", self.attrs[a])
                return dies[int(m.group(1), 16)].name(dies)
        return "?"

    def origin(self, dies):
        d = self
        while "DW_AT_abstract_origin" in d.attrs:
            d = dies[int(re.match(r"0x([0-9a-f]+)",
                                  d.attrs["DW_AT_abstract_origin"]).group(1), 16)]
        return d

    def addr(self, a):
        if a not in self.attrs:
            return None
        return int(re.match(r"0x([0-9a-f]+)", self.attrs[a]).group(1), 16)

    def ranges(self):
        lo = self.addr("DW_AT_low_pc")
        if lo is not None and "DW_AT_high_pc" in self.attrs:
            hi = self.attrs["DW_AT_high_pc"]
            m = re.match(r"0x([0-9a-f]+)", hi)
            h = int(m.group(1), 16)
            # llvm-dwarfdump prints the absolute end for both forms
            return [(lo, h)]
        if "DW_AT_ranges" in self.attrs:
            out = []
            for ln in self.cont.get("DW_AT_ranges", []):
                m = RANGE_RE.search(ln)
                if m:
                    out.append((int(m.group(1), 16), int(m.group(2), 16)))
            return out
        return []

    def has_code(self):
        return "DW_AT_low_pc" in self.attrs or "DW_AT_ranges" in self.attrs

    def location_at(self, pc):
        """'-' (no DW_AT_location: optimised out), 'none at entry' or the
        expression that covers pc."""
        if "DW_AT_const_value" in self.attrs:
            return "const " + self.attrs["DW_AT_const_value"].rstrip(")")
        if "DW_AT_location" not in self.attrs:
            return None
        raw = self.attrs["DW_AT_location"]
        if not raw.startswith("0x"):       # single expression
            return raw.rstrip(")")
        for ln in self.cont.get("DW_AT_location", []):
            m = RANGE_RE.search(ln)
            if m and int(m.group(1), 16) <= pc < int(m.group(2), 16):
                return m.group(3).rstrip(")")
        return "(list, no entry at pc)"


def parse_info(path):
    text = run(DWARFDUMP, "--debug-info", path)
    dies, stack, cur, last_attr = {}, [], None, None
    roots = []
    for ln in text.splitlines():
        m = DIE_RE.match(ln)
        if m:
            depth = (len(m.group(2)) - 1) // 2
            if m.group(3) == "NULL":
                cur = None
                continue
            d = Die(int(m.group(1), 16), m.group(3), depth)
            while stack and stack[-1].depth >= depth:
                stack.pop()
            if stack:
                d.parent = stack[-1]
                stack[-1].children.append(d)
            else:
                roots.append(d)
            stack.append(d)
            dies[d.off] = d
            cur, last_attr = d, None
            continue
        if cur is None:
            continue
        m = ATTR_RE.match(ln)
        if m:
            last_attr = m.group(1)
            cur.attrs[last_attr] = m.group(2)
            cur.cont[last_attr] = []
        elif last_attr and ln.strip():
            cur.cont[last_attr].append(ln.strip())
    return dies, roots


def walk(d):
    yield d
    for c in d.children:
        yield from walk(c)


# ---- objdump -d -----------------------------------------------------------
INSN_RE = re.compile(r"^\s*([0-9a-f]+):\s+(?:[0-9a-f]{2,8} )*\s*(\S+)\s*(.*)$")
LABEL_RE = re.compile(r"^([0-9a-f]+) <(.+)>:$")


def parse_objdump(tool, path):
    insns, labels = [], {}
    for ln in run(tool, "-d", "--no-show-raw-insn", path).splitlines():
        m = LABEL_RE.match(ln)
        if m:
            labels.setdefault(int(m.group(1), 16), m.group(2))
            continue
        m = INSN_RE.match(ln)
        if m:
            insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return insns, labels


def is_return(arch, mn, ops):
    if arch == "x86":
        return mn in ("ret", "retq") or (mn in ("repz", "rep") and ops.startswith("ret"))
    if arch == "arm":
        return mn == "ret"
    return bool(re.fullmatch(r"b\w*lr(-|\+)?", mn)) and not mn.endswith("lrl")


def direct_jump_target(arch, mn, ops):
    """target of a direct jump that is not a call, else None"""
    if arch == "x86":
        if not (mn.startswith("j")):
            return None
    elif arch == "arm":
        if not (mn == "b" or mn.startswith("b.") or mn in ("cbz", "cbnz", "tbz", "tbnz")):
            return None
    else:
        if not re.fullmatch(r"b(eq|ne|lt|gt|le|ge|dnz|dz|so|ns)?[+-]?|b", mn):
            return None
    m = re.search(r"(?:^|[ ,])(?:0x)?([0-9a-f]+) <", ops)
    return int(m.group(1), 16) if m else None


# ---- readelf --debug-dump=decodedline -------------------------------------
def parse_lines(tool, path):
    rows = []
    for ln in run(tool, "-wL", path).splitlines():
        t = ln.split()
        if len(t) < 3 or not t[2].startswith("0x"):
            continue
        try:
            addr = int(t[2], 16)
        except ValueError:
            continue
        view = int(t[3]) if len(t) > 3 and t[3].isdigit() else 0
        stmt = t[-1] == "x"
        rows.append((addr, t[1], view, stmt))
    return rows


def entry(d):
    """(entry pc, note): DW_AT_entry_pc, else DW_AT_low_pc; with neither
    (DW_AT_ranges only) DWARF leaves the entry unknown: the lowest range
    start is used and marked."""
    pc = d.addr("DW_AT_entry_pc")
    if pc is not None:
        return pc, ""
    pc = d.addr("DW_AT_low_pc")
    if pc is not None:
        return pc, " (low_pc, no entry_pc)"
    rs = [r for r in d.ranges() if r[0] < r[1]]
    return min(r[0] for r in rs), " (**no entry_pc**: lowest range start)"


def hexr(rs):
    return ", ".join("0x%x-0x%x" % r for r in rs)


def in_ranges(a, rs):
    return any(lo <= a < hi for lo, hi in rs)


def facts(target, variant, objdump, readelf, out, checks):
    path = "%s/dwarf-%s.so" % (target, variant)
    arch = ARCH[target]
    dies, roots = parse_info(path)
    insns, labels = parse_objdump(objdump, path)
    rows = parse_lines(readelf, path)
    alld = [d for r in roots for d in walk(r)]

    # ---- counts (second, independent computation of <target>/*.counts) ----
    mine = {
        "subprograms_with_code": sum(1 for d in alld if d.tag == "DW_TAG_subprogram" and d.has_code()),
        "inlined_subroutines": sum(1 for d in alld if d.tag == "DW_TAG_inlined_subroutine"),
        "is_stmt_rows": sum(1 for r in rows if r[3]),
        "call_sites": sum(1 for d in alld if d.tag in ("DW_TAG_call_site", "DW_TAG_GNU_call_site")),
        "tail_call_sites": sum(1 for d in alld if d.tag in ("DW_TAG_call_site", "DW_TAG_GNU_call_site")
                               and ("DW_AT_call_tail_call" in d.attrs or "DW_AT_GNU_tail_call" in d.attrs)),
    }
    cpath = "%s/dwarf-%s.counts" % (target, variant)
    got = {}
    for ln in open(cpath):
        if ln.strip() and not ln.startswith("#"):
            k, v = ln.split()
            got[k] = int(v)
    if got != mine:
        checks.append("%s: %s != parsed %s" % (cpath, got, mine))

    out.append("### %s `dwarf-%s.so`\n" % (target, variant))
    out.append("counts: " + ", ".join("%s %d" % (k, v) for k, v in mine.items()) + "\n")

    # out-of-line copies, grouped by source function
    by_src = {}
    for d in alld:
        if d.tag == "DW_TAG_subprogram" and d.has_code():
            by_src.setdefault(d.name(dies), {"ool": [], "inl": []})["ool"].append(d)
        elif d.tag == "DW_TAG_inlined_subroutine":
            by_src.setdefault(d.name(dies), {"ool": [], "inl": []})["inl"].append(d)

    def sym_for(d):
        rs = d.ranges()
        names = sorted({labels[lo] for lo, _ in rs if lo in labels})
        return [n[1:] if n.startswith(".") and target == "ppc64" else n for n in names]

    def caller_of(d):
        """symbol of the enclosing out-of-line copy, then '>' and each
        enclosing inline instance's function (nested inlining)"""
        p, chain = d.parent, []
        while p is not None and p.tag != "DW_TAG_subprogram":
            if p.tag == "DW_TAG_inlined_subroutine":
                chain.append(p.name(dies))
            p = p.parent
        if p is None:
            return "?"
        s = sym_for(p)
        return ">".join([s[0] if s else p.name(dies)] + chain[::-1])

    out.append("| function | out-of-line copies (symbol: ranges) | inline instances: count (caller@entry_pc[view]) | clones | return probe |")
    out.append("|---|---|---|---|---|")
    for src in sorted(by_src):
        g = by_src[src]
        ool, clones, rets = [], [], []
        for d in sorted(g["ool"], key=lambda d: d.ranges()[0][0]):
            rs = d.ranges()
            syms = sym_for(d)
            ool.append("%s: %s" % ("/".join(syms) or "?", hexr(rs)))
            clones += [s for s in syms if s != src and not s.endswith("localalias")]
            nret = ntail = 0
            for a, mn, ops in insns:
                if not in_ranges(a, rs):
                    continue
                if is_return(arch, mn, ops):
                    nret += 1
                t = direct_jump_target(arch, mn, ops)
                if t is not None and not in_ranges(t, rs):
                    ntail += 1
            if nret:
                rets.append("yes (%d ret%s%s)" % (nret, "" if nret == 1 else "s",
                                                  ", %d tail jump%s" % (ntail, "" if ntail == 1 else "s") if ntail else ""))
            elif ntail:
                rets.append("**no**: only %d tail-call exit%s" % (ntail, "" if ntail == 1 else "s"))
            else:
                rets.append("**no** return")
        inl = []
        for d in sorted(g["inl"], key=lambda d: entry(d)[0]):
            pc, pcnote = entry(d)
            view = d.attrs.get("DW_AT_GNU_entry_view", "").rstrip(")")
            inl.append("%s@0x%x%s%s" % (caller_of(d), pc,
                                         "[%d]" % int(view, 16) if view else "", pcnote))
        out.append("| %s | %s | %s | %s | %s |" % (
            src, "<br>".join(ool) or "-",
            ("%d (%s)" % (len(inl), ", ".join(inl))) if inl else "0",
            ", ".join(sorted(set(clones))) or "-",
            "<br>".join(rets) or "- (inline only)"))
    out.append("")

    # inline instances: parameters at the entry pc, line rows there, LL/SC
    inls = [d for d in alld if d.tag == "DW_TAG_inlined_subroutine"]
    if inls:
        out.append("| inlined function | caller | entry_pc [view] | ranges | parameters at entry_pc | line rows at entry_pc (line:view, * = is_stmt) | LL in instance |")
        out.append("|---|---|---|---|---|---|---|")
        for d in sorted(inls, key=lambda d: (entry(d)[0], d.off)):
            pc, pcnote = entry(d)
            view = d.attrs.get("DW_AT_GNU_entry_view", "").rstrip(")")
            params = []
            origin = d.origin(dies)
            order = [c.name(dies) for c in origin.children if c.tag == "DW_TAG_formal_parameter"]
            ps = {c.name(dies): c for c in d.children if c.tag == "DW_TAG_formal_parameter"}
            for n in order:
                c = ps.get(n)
                loc = c.location_at(pc) if c is not None else None
                if c is None:
                    params.append("%s: no DIE" % n)
                elif loc is None:
                    params.append("%s: **optimised out** (no DW_AT_location)" % n)
                else:
                    params.append("%s: `%s`" % (n, loc))
            lrows = ["%s:%d%s" % (r[1], r[2], "*" if r[3] else "") for r in rows if r[0] == pc]
            rs = d.ranges()
            lls = sorted({mn for a, mn, _ in insns if in_ranges(a, rs) and LL_RE.match(mn)})
            out.append("| %s | %s | 0x%x%s [%s] | %s | %s | %s | %s |" % (
                d.name(dies), caller_of(d), pc, pcnote, int(view, 16) if view else "-", hexr(rs),
                "<br>".join(params), " ".join(lrows) or "-", ", ".join(lls) or "-"))
        out.append("")


def main():
    out, checks = [], []
    out.append(HEADER)
    for target, objdump, readelf in TARGETS:
        out.append("## %s\n" % target)
        for v in VARIANTS:
            if not os.path.exists("%s/dwarf-%s.so" % (target, v)):
                continue
            facts(target, v, objdump, readelf, out, checks)
    if checks:
        sys.stderr.write("dwarf_facts.py: counts disagree:\n  " + "\n  ".join(checks) + "\n")
        sys.exit(1)
    sys.stdout.write("\n".join(out) + "\n")


HEADER = """# DWARF facts of the dwarf-*.so corpora

Generated by `corpora/dwarf_facts.py` (run by `build.sh`; do not edit by
hand) from `llvm-dwarfdump --debug-info`, `readelf --debug-dump=decodedline`
and the target's `objdump -d`.  Source: `src/dwarf.c` (the CASE comments say
what each function demonstrates); flags and the per-target findings in
README.md, section "DWARF corpora".

Per binary:

* `counts:` the five numbers of `<target>/dwarf-*.counts` (which also give
  the commands). This script recomputes them from its own parse of the DIE
  tree and from readelf's line table (not llvm-dwarfdump's) and fails the
  build if they differ.
* Function table, one row per source function:
  * out-of-line copies: every `DW_TAG_subprogram` with `DW_AT_low_pc` or
    `DW_AT_ranges`, named by the symbol (objdump label; ppc64 ELFv1: the
    code address, without the leading dot) at the start of each range, with
    its ranges (end exclusive).  A clone's DIE has `DW_AT_abstract_origin`
    pointing at the source function.
  * inline instances: every `DW_TAG_inlined_subroutine` whose abstract
    origin is the function, as `caller@DW_AT_entry_pc[DW_AT_GNU_entry_view]`.
    The caller is the symbol of the enclosing out-of-line subprogram,
    followed by `>F` for each enclosing inline instance of F (an instance
    nested in another instance).
  * clones: symbols of the out-of-line copies that differ from the source
    name (`.isra.0`, `.constprop.0`, `.part.0`, `.cold`; `.localalias` is an
    alias, not a clone, and is left out).
  * return probe: per out-of-line copy, the number of return instructions
    (`ret`; ppc `blr` and conditional `b*lr`) inside its DWARF ranges, and of
    direct jumps out of those ranges (tail-call exits). "**no**: only N
    tail-call exit(s)" means a return probe can only be placed on the jump.
    "- (inline only)": no out-of-line copy at all, so no return probe.
* Inline-instance table: for each `DW_TAG_inlined_subroutine`, the location
  of each parameter (in the abstract function's parameter order) at
  `DW_AT_entry_pc`: the location-list entry whose `[lo, hi)` covers the pc,
  or the single expression; "**optimised out**" = the parameter DIE has no
  `DW_AT_location`/`DW_AT_const_value`; "(list, no entry at pc)" = a list
  that does not cover the entry pc.  Location views
  (`DW_AT_GNU_locviews`) are ignored.  "line rows" lists every row of the
  decoded line table at exactly that address (`line:view`, `*` = is_stmt),
  so several rows at one address are several views.  "LL" lists the
  load-linked instructions inside the instance's ranges (the LL/SC loop of
  the inlined atomic primitive).
"""

if __name__ == "__main__":
    main()
