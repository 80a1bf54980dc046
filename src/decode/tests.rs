//! One line per instruction: `arch address bytes "text" => class [target]`.
//! Bytes are in memory order. Each line is decoded with the real
//! disassembler and classified with the architecture's table.

use super::*;

const CASES: &str = r#"
x86_64  0x1000 c7f810000000          "xbegin 0x1016"        => tx-begin 0x1016
x86_64  0x1000 0f01d5                "xend"                 => tx-end
x86_64  0x1000 c6f805                "xabort 5"             => tx-abort
x86_64  0x1000 0f01d6                "xtest"                => tx-test
x86_64  0x1000 83f8ff                "cmp eax, -1"          => other
x86_64  0x1000 e800000000            "call 0x1005"          => call 0x1005
x86_64  0x1000 ffd0                  "call rax"             => call-indirect
x86_64  0x1000 e900000000            "jmp 0x1005"           => jump 0x1005
x86_64  0x1000 ffe0                  "jmp rax"              => jump-indirect
x86_64  0x1000 7402                  "je 0x1004"            => jump-cond 0x1004
x86_64  0x1000 c3                    "ret"                  => return
x86_64  0x1000 cc                    "int3"                 => trap unsteppable
x86_64  0x1000 cd80                  "int 0x80"             => trap unsteppable
x86_64  0x1000 0f0b                  "ud2"                  => trap-stop unsteppable
x86_64  0x1000 8ed0                  "mov ss, eax"          => other unsteppable
x86_64  0x1000 f00fc107              "lock xadd dword ptr [rdi], eax" => other
x86_64  0x1000 0f05                  "syscall"              => trap
aarch64 0x1000 017c5fc8              "ldxr x1, [x0]"        => load-linked unsteppable
aarch64 0x1000 01fc5f88              "ldaxr w1, [x0]"       => load-linked unsteppable
aarch64 0x1000 017c5f08              "ldxrb w1, [x0]"       => load-linked unsteppable
aarch64 0x1000 01087fc8              "ldxp x1, x2, [x0]"    => load-linked unsteppable
aarch64 0x1000 207c02c8              "stxr w2, x0, [x1]"    => store-conditional unsteppable
aarch64 0x1000 20fc0288              "stlxr w2, w0, [x1]"   => store-conditional unsteppable
aarch64 0x1000 5f3f03d5              "clrex"                => clear-exclusive
aarch64 0x1000 603023d5              "tstart x0"            => tx-begin
aarch64 0x1000 7f3003d5              "tcommit"              => tx-end
aarch64 0x1000 613123d5              "ttest x1"             => tx-test
aarch64 0x1000 200060d4              "tcancel #1"           => tx-abort unsteppable
aarch64 0x1000 10000094              "bl #0x1040"           => call 0x1040
aarch64 0x1000 00003fd6              "blr x0"               => call-indirect
aarch64 0x1000 04000014              "b #0x1010"            => jump 0x1010
aarch64 0x1000 a2ffff35              "cbnz w2, #0xff4"      => jump-cond 0xff4
aarch64 0x1000 41000054              "b.ne #0x1008"         => jump-cond 0x1008
aarch64 0x1000 60001836              "tbz w0, #3, #0x100c"  => jump-cond 0x100c
aarch64 0x1000 00021fd6              "br x16"               => jump-indirect
aarch64 0x1000 c0035fd6              "ret"                  => return
aarch64 0x1000 000020d4              "brk #0"               => trap-stop unsteppable
aarch64 0x1000 010000d4              "svc #0"               => trap unsteppable
aarch64 0x1000 df4603d5              "msr daifset, #6"      => other unsteppable
aarch64 0x1000 20423bd5              "mrs x0, daif"         => other unsteppable
aarch64 0x1000 000038d5              "mrs x0, midr_el1"     => other
aarch64 0x1000 1f2003d5              "nop"                  => other
aarch64 0x1000 3f2303d5              "paciasp"              => other
aarch64 0x1000 bf2303d5              "autiasp"              => other unsteppable
aarch64 0x1000 ff2f03d5              "hint #0x7f"           => other unsteppable
aarch64 0x1000 5f2403d5              "bti c"                => other
aarch64 0x1000 ff0b5fd6              "retaa"                => return unsteppable
aarch64 0x1000 c00000d8              "prfm pldl1keep, #0x1018" => other unsteppable
aarch64 0x1000 e000009c              "ldr q0, #0x101c"      => other unsteppable
aarch64 0x1000 e0000058              "ldr x0, #0x101c"      => other
ppc64   0x2000 7d201828              "lwarx r9, 0, r3"      => load-linked
ppc64   0x2000 7d2018a8              "ldarx r9, 0, r3"      => load-linked
ppc64   0x2000 7d201868              "lbarx r9, 0, r3"      => load-linked
ppc64   0x2000 7d2018e8              "lharx r9, 0, r3"      => load-linked
ppc64   0x2000 7c801a28              "lqarx"                => load-linked
ppc64   0x2000 7c80196d              "stqcx."               => store-conditional
ppc64   0x2000 7d40192d              "stwcx. r10, 0, r3"    => store-conditional
ppc64   0x2000 7d4019ad              "stdcx. r10, 0, r3"    => store-conditional
ppc64   0x2000 7d401d6d              "stbcx. r10, 0, r3"    => store-conditional
ppc64   0x2000 7d401dad              "sthcx. r10, 0, r3"    => store-conditional
ppc64   0x2000 7c00051d              "tbegin. 0"            => tx-begin
ppc64   0x2000 7c00055d              "tend. 0"              => tx-end
ppc64   0x2000 7e00055d              "tend. 1"              => tx-end
ppc64   0x2000 7c03071d              "tabort. r3"           => tx-abort
ppc64   0x2000 7c0005dd              "tsr. 0"               => tx-suspend
ppc64   0x2000 7c2005dd              "tsr. 1"               => tx-resume
ppc64   0x2000 4082fff8              "bne 0x1ff8"           => jump-cond 0x1ff8
ppc64   0x2000 48000011              "bl 0x2010"            => call 0x2010
ppc64   0x2000 48000008              "b 0x2008"             => jump 0x2008
ppc64   0x2000 4e800020              "blr"                  => return
ppc64   0x2000 4d820020              "beqlr"                => return-cond
ppc64   0x2000 4e800420              "bctr"                 => jump-indirect
ppc64   0x2000 4e800421              "bctrl"                => call-indirect
ppc64   0x2000 42000010              "bdnz 0x2010"          => jump-cond 0x2010
ppc64   0x2000 7fe00008              "trap"                 => trap-stop unsteppable
ppc64   0x2000 0c230000              "twlgti r3, 0"         => trap unsteppable
ppc64   0x2000 44000002              "sc"                   => trap unsteppable
ppc64   0x2000 7c632214              "add r3, r3, r4"       => other
ppc64   0x2000 7c600164              "mtmsrd r3"            => other unsteppable
ppc64   0x2000 4c000024              "rfid"                 => return unsteppable
ppc64   0x2000 4c000264              "urfid"                => return unsteppable
ppc64   0x2000 4c0000a4              "rfscv"                => return unsteppable
ppc64   0x2000 4c000324              "doze"                 => other unsteppable
ppc64   0x2000 44000001              "scv"                  => trap unsteppable
ppc64le 0x2000 2818207d              "lwarx r9, 0, r3"      => load-linked
ppc64le 0x2000 2d19407d              "stwcx. r10, 0, r3"    => store-conditional
ppc64le 0x2000 1d05007c              "tbegin. 0"            => tx-begin
ppc64le 0x2000 2000804e              "blr"                  => return
"#;

fn class_name(c: Class) -> &'static str {
    match c {
        Class::Other => "other",
        Class::LoadLinked => "load-linked",
        Class::StoreConditional => "store-conditional",
        Class::ClearExclusive => "clear-exclusive",
        Class::TxBegin => "tx-begin",
        Class::TxEnd => "tx-end",
        Class::TxAbort => "tx-abort",
        Class::TxTest => "tx-test",
        Class::TxSuspend => "tx-suspend",
        Class::TxResume => "tx-resume",
        Class::Call {
            indirect: false, ..
        } => "call",
        Class::Call { indirect: true, .. } => "call-indirect",
        Class::Return { conditional: false } => "return",
        Class::Return { conditional: true } => "return-cond",
        Class::Jump { indirect: true, .. } => "jump-indirect",
        Class::Jump {
            conditional: true, ..
        } => "jump-cond",
        Class::Jump { .. } => "jump",
        Class::Trap { stops: false } => "trap",
        Class::Trap { stops: true } => "trap-stop",
    }
}

#[test]
fn instruction_table() {
    let mut failures = Vec::new();
    for line in CASES.lines().filter(|l| !l.trim().is_empty()) {
        let (left, right) = line.split_once("=>").expect("=> in every case");
        let mut words = left.split_whitespace();
        let arch = match words.next().unwrap() {
            "x86_64" => Arch::X86_64,
            "aarch64" => Arch::Aarch64,
            "ppc64" => Arch::Ppc64,
            "ppc64le" => Arch::Ppc64le,
            other => panic!("arch {other}"),
        };
        let address =
            u64::from_str_radix(words.next().unwrap().trim_start_matches("0x"), 16).unwrap();
        let hex = words.next().unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let text = left.split('"').nth(1).unwrap();
        let decoder = Decoder::new(arch).unwrap();
        let insns = decoder.decode(&bytes, address);
        assert_eq!(insns.len(), 1, "{line}: decoded {insns:?}");
        let insn = &insns[0];
        let mut expect = right.split_whitespace();
        let want_class = expect.next().unwrap();
        let mut want_target = None;
        let mut want_unsteppable = false;
        for w in expect {
            if w == "unsteppable" {
                want_unsteppable = true;
            } else {
                want_target = Some(u64::from_str_radix(w.trim_start_matches("0x"), 16).unwrap());
            }
        }
        let got = (
            insn.text(),
            class_name(insn.class),
            insn.target,
            insn.unsteppable.is_some(),
        );
        let want = (text.to_owned(), want_class, want_target, want_unsteppable);
        if got != want {
            failures.push(format!("{line}\n   got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}
