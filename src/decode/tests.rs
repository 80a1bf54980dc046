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
ppc64le 0x2000 2918007d              "lwarx r8, 0, r3, 1"   => load-linked
ppc64   0x2000 04000000e4830008      "pld"                  => other
ppc64   0x2000 18230000              "lxvp"                 => other
"#;

/// POWER10 (ISA 3.1) instructions the bundled Capstone does not know, as
/// binutils 2.40 assembles them (`as -mpower10`; MMA names without the
/// `dm` prefix objdump gives them): decoded from probesafe's table, each an
/// ordinary instruction of 4 bytes, or 8 for the prefixed ones.
const POWER10_CASES: &str = r#"
ppc64le 0x2000 00002318              "lxvp"             => other
ppc64le 0x2000 21002318              "stxvp"            => other
ppc64le 0x2000 9a22237c              "lxvpx"            => other
ppc64le 0x2000 9a23237c              "stxvpx"           => other
ppc64le 0x2000 1b20037c              "lxvrbx"           => other
ppc64le 0x2000 5b20037c              "lxvrhx"           => other
ppc64le 0x2000 9b20037c              "lxvrwx"           => other
ppc64le 0x2000 db20037c              "lxvrdx"           => other
ppc64le 0x2000 1b21037c              "stxvrbx"          => other
ppc64le 0x2000 5b21037c              "stxvrhx"          => other
ppc64le 0x2000 9b21037c              "stxvrwx"          => other
ppc64le 0x2000 db21037c              "stxvrdx"          => other
ppc64le 0x2000 b601837c              "brh"              => other
ppc64le 0x2000 3601837c              "brw"              => other
ppc64le 0x2000 7601837c              "brd"              => other
ppc64le 0x2000 0003627c              "setbc"            => other
ppc64le 0x2000 4003627c              "setbcr"           => other
ppc64le 0x2000 8003627c              "setnbc"           => other
ppc64le 0x2000 c003627c              "setnbcr"          => other
ppc64le 0x2000 b829837c              "cfuged"           => other
ppc64le 0x2000 7628837c              "cntlzdm"          => other
ppc64le 0x2000 762c837c              "cnttzdm"          => other
ppc64le 0x2000 3829837c              "pdepd"            => other
ppc64le 0x2000 7829837c              "pextd"            => other
ppc64le 0x2000 420ee810              "vextractbm"       => other
ppc64le 0x2000 420ee910              "vextracthm"       => other
ppc64le 0x2000 420eea10              "vextractwm"       => other
ppc64le 0x2000 420eeb10              "vextractdm"       => other
ppc64le 0x2000 420eec10              "vextractqm"       => other
ppc64le 0x2000 42162010              "vexpandbm"        => other
ppc64le 0x2000 42162410              "vexpandqm"        => other
ppc64le 0x2000 421e3010              "mtvsrbm"          => other
ppc64le 0x2000 421e3410              "mtvsrqm"          => other
ppc64le 0x2000 42167910              "vcntmbb"          => other
ppc64le 0x2000 42167f10              "vcntmbd"          => other
ppc64le 0x2000 0d102010              "vstribl"          => other
ppc64le 0x2000 0d102110              "vstribr"          => other
ppc64le 0x2000 0d102210              "vstrihl"          => other
ppc64le 0x2000 0d102310              "vstrihr"          => other
ppc64le 0x2000 8d192210              "vclrlb"           => other
ppc64le 0x2000 cd192210              "vclrrb"           => other
ppc64le 0x2000 4d1d2210              "vcfuged"          => other
ppc64le 0x2000 cd1d2210              "vpdepd"           => other
ppc64le 0x2000 8d1d2210              "vpextd"           => other
ppc64le 0x2000 cc146210              "vgnb"             => other
ppc64le 0x2000 c9192210              "vmulld"           => other
ppc64le 0x2000 891b2210              "vmulhsw"          => other
ppc64le 0x2000 891a2210              "vmulhuw"          => other
ppc64le 0x2000 c91b2210              "vmulhsd"          => other
ppc64le 0x2000 c91a2210              "vmulhud"          => other
ppc64le 0x2000 8b192210              "vdivsw"           => other
ppc64le 0x2000 8b182210              "vdivuw"           => other
ppc64le 0x2000 cb192210              "vdivsd"           => other
ppc64le 0x2000 cb182210              "vdivud"           => other
ppc64le 0x2000 0b192210              "vdivsq"           => other
ppc64le 0x2000 0b182210              "vdivuq"           => other
ppc64le 0x2000 8b1f2210              "vmodsw"           => other
ppc64le 0x2000 8b1e2210              "vmoduw"           => other
ppc64le 0x2000 cb1f2210              "vmodsd"           => other
ppc64le 0x2000 cb1e2210              "vmodud"           => other
ppc64le 0x2000 0b1f2210              "vmodsq"           => other
ppc64le 0x2000 0b1e2210              "vmoduq"           => other
ppc64le 0x2000 8b1b2210              "vdivesw"          => other
ppc64le 0x2000 8b1a2210              "vdiveuw"          => other
ppc64le 0x2000 cb1b2210              "vdivesd"          => other
ppc64le 0x2000 cb1a2210              "vdiveud"          => other
ppc64le 0x2000 0b1b2210              "vdivesq"          => other
ppc64le 0x2000 0b1a2210              "vdiveuq"          => other
ppc64le 0x2000 cf182410              "vinsw"            => other
ppc64le 0x2000 cf192410              "vinsd"            => other
ppc64le 0x2000 0f222310              "vinsblx"          => other
ppc64le 0x2000 0f232310              "vinsbrx"          => other
ppc64le 0x2000 4f222310              "vinshlx"          => other
ppc64le 0x2000 4f232310              "vinshrx"          => other
ppc64le 0x2000 8f222310              "vinswlx"          => other
ppc64le 0x2000 8f232310              "vinswrx"          => other
ppc64le 0x2000 cf222310              "vinsdlx"          => other
ppc64le 0x2000 cf232310              "vinsdrx"          => other
ppc64le 0x2000 0f202310              "vinsbvlx"         => other
ppc64le 0x2000 0f212310              "vinsbvrx"         => other
ppc64le 0x2000 4f202310              "vinshvlx"         => other
ppc64le 0x2000 4f212310              "vinshvrx"         => other
ppc64le 0x2000 8f202310              "vinswvlx"         => other
ppc64le 0x2000 8f212310              "vinswvrx"         => other
ppc64le 0x2000 18192210              "vextdubvlx"       => other
ppc64le 0x2000 19192210              "vextdubvrx"       => other
ppc64le 0x2000 1a192210              "vextduhvlx"       => other
ppc64le 0x2000 1b192210              "vextduhvrx"       => other
ppc64le 0x2000 1c192210              "vextduwvlx"       => other
ppc64le 0x2000 1d192210              "vextduwvrx"       => other
ppc64le 0x2000 1e192210              "vextddvlx"        => other
ppc64le 0x2000 1f192210              "vextddvrx"        => other
ppc64le 0x2000 16192210              "vsldbi"           => other
ppc64le 0x2000 161b2210              "vsrdbi"           => other
ppc64le 0x2000 02163b10              "vextsd2q"         => other
ppc64le 0x2000 c7192210              "vcmpequq"         => other
ppc64le 0x2000 871b2210              "vcmpgtsq"         => other
ppc64le 0x2000 871a2210              "vcmpgtuq"         => other
ppc64le 0x2000 41198210              "vcmpsq"           => other
ppc64le 0x2000 01198210              "vcmpuq"           => other
ppc64le 0x2000 c81b2210              "vmulesd"          => other
ppc64le 0x2000 c81a2210              "vmuleud"          => other
ppc64le 0x2000 c8192210              "vmulosd"          => other
ppc64le 0x2000 c8182210              "vmuloud"          => other
ppc64le 0x2000 05182210              "vrlq"             => other
ppc64le 0x2000 45182210              "vrlqmi"           => other
ppc64le 0x2000 45192210              "vrlqnm"           => other
ppc64le 0x2000 05192210              "vslq"             => other
ppc64le 0x2000 051a2210              "vsrq"             => other
ppc64le 0x2000 051b2210              "vsraq"            => other
ppc64le 0x2000 17192210              "vmsumcud"         => other
ppc64le 0x2000 881822fc              "xscmpeqqp"        => other
ppc64le 0x2000 881922fc              "xscmpgeqp"        => other
ppc64le 0x2000 c81922fc              "xscmpgtqp"        => other
ppc64le 0x2000 481d22fc              "xsmaxcqp"         => other
ppc64le 0x2000 c81d22fc              "xsmincqp"         => other
ppc64le 0x2000 88162bfc              "xscvsqqp"         => other
ppc64le 0x2000 881623fc              "xscvuqqp"         => other
ppc64le 0x2000 881628fc              "xscvqpsqz"        => other
ppc64le 0x2000 881620fc              "xscvqpuqz"        => other
ppc64le 0x2000 c41f40fc              "dcffixqq"         => other
ppc64le 0x2000 c41761fc              "dctfixqq"         => other
ppc64le 0x2000 6c1730f0              "xvcvbf16spn"      => other
ppc64le 0x2000 6c1731f0              "xvcvspbf16"       => other
ppc64le 0x2000 281723f0              "xxgenpcvbm"       => other
ppc64le 0x2000 2a1723f0              "xxgenpcvhm"       => other
ppc64le 0x2000 681723f0              "xxgenpcvwm"       => other
ppc64le 0x2000 6a1723f0              "xxgenpcvdm"       => other
ppc64le 0x2000 d00a3ff0              "lxvkq"            => other
ppc64le 0x2000 6201007c              "xxmfacc"          => other
ppc64le 0x2000 6201017c              "xxmtacc"          => other
ppc64le 0x2000 6201037c              "xxsetaccz"        => other
ppc64le 0x2000 d82804ec              "xvf32ger"         => other
ppc64le 0x2000 182804ec              "xvi8ger4"         => other
ppc64le 0x2000 a51de17f              "hashst"           => other
ppc64le 0x2000 e51de17f              "hashchk"          => other
ppc64le 0x2000 00000004080064e4      "pld"              => other
ppc64le 0x2000 00001004380160e4      "pld"              => other
ppc64le 0x2000 0000100630016038      "paddi"            => other
ppc64le 0x2000 0000000639306038      "paddi"            => other
ppc64le 0x2000 0000000639306438      "paddi"            => other
ppc64le 0x2000 0000000608006480      "plwz"             => other
ppc64le 0x2000 00000004080064a4      "plwa"             => other
ppc64le 0x2000 0000000608006488      "plbz"             => other
ppc64le 0x2000 00000006080064a0      "plhz"             => other
ppc64le 0x2000 00000006080064a8      "plha"             => other
ppc64le 0x2000 00000004080064f4      "pstd"             => other
ppc64le 0x2000 0000000608006490      "pstw"             => other
ppc64le 0x2000 00000006080064b0      "psth"             => other
ppc64le 0x2000 0000000608006498      "pstb"             => other
ppc64le 0x2000 00000006080064c0      "plfs"             => other
ppc64le 0x2000 00000006080064c8      "plfd"             => other
ppc64le 0x2000 00000006080064d0      "pstfs"            => other
ppc64le 0x2000 00000006080064d8      "pstfd"            => other
ppc64le 0x2000 00000004080064a8      "plxsd"            => other
ppc64le 0x2000 00000004080064ac      "plxssp"           => other
ppc64le 0x2000 00000004080064b8      "pstxsd"           => other
ppc64le 0x2000 00000004080064bc      "pstxssp"          => other
ppc64le 0x2000 00000004080064c8      "plxv"             => other
ppc64le 0x2000 00000004080064d8      "pstxv"            => other
ppc64le 0x2000 00000004080064e8      "plxvp"            => other
ppc64le 0x2000 00000004080064f8      "pstxvp"           => other
ppc64le 0x2000 00000004080085e0      "plq"              => other
ppc64le 0x2000 00000004080085f0      "pstq"             => other
ppc64le 0x2000 0000000700000000      "pnop"             => other
ppc64le 0x2000 0000000505002680      "xxspltiw"         => other
ppc64le 0x2000 0000000505002480      "xxspltidp"        => other
ppc64le 0x2000 0000000505002280      "xxsplti32dx"      => other
ppc64le 0x2000 0500000500192288      "xxpermx"          => other
ppc64le 0x2000 0000000500192284      "xxblendvb"        => other
ppc64le 0x2000 0000000510192284      "xxblendvh"        => other
ppc64le 0x2000 0000000520192284      "xxblendvw"        => other
ppc64le 0x2000 0000000530192284      "xxblendvd"        => other
ppc64le 0x2000 0500000510192288      "xxeval"           => other
ppc64le 0x2000 34009007d82804ec      "pmxvf32ger"       => other
ppc64le 0x2000 34509007182804ec      "pmxvi8ger4"       => other
ppc64le 0x2000 182904ec              "xvi4ger8"         => other
ppc64le 0x2000 102904ec              "xvi4ger8pp"       => other
ppc64le 0x2000 182804ec              "xvi8ger4"         => other
ppc64le 0x2000 102804ec              "xvi8ger4pp"       => other
ppc64le 0x2000 182b04ec              "xvi8ger4spp"      => other
ppc64le 0x2000 582a04ec              "xvi16ger2"        => other
ppc64le 0x2000 582b04ec              "xvi16ger2pp"      => other
ppc64le 0x2000 582904ec              "xvi16ger2s"       => other
ppc64le 0x2000 502904ec              "xvi16ger2spp"     => other
ppc64le 0x2000 982804ec              "xvf16ger2"        => other
ppc64le 0x2000 902804ec              "xvf16ger2pp"      => other
ppc64le 0x2000 902c04ec              "xvf16ger2pn"      => other
ppc64le 0x2000 902a04ec              "xvf16ger2np"      => other
ppc64le 0x2000 902e04ec              "xvf16ger2nn"      => other
ppc64le 0x2000 982904ec              "xvbf16ger2"       => other
ppc64le 0x2000 902904ec              "xvbf16ger2pp"     => other
ppc64le 0x2000 902d04ec              "xvbf16ger2pn"     => other
ppc64le 0x2000 902b04ec              "xvbf16ger2np"     => other
ppc64le 0x2000 902f04ec              "xvbf16ger2nn"     => other
ppc64le 0x2000 d82804ec              "xvf32ger"         => other
ppc64le 0x2000 d02804ec              "xvf32gerpp"       => other
ppc64le 0x2000 d02c04ec              "xvf32gerpn"       => other
ppc64le 0x2000 d02a04ec              "xvf32gernp"       => other
ppc64le 0x2000 d02e04ec              "xvf32gernn"       => other
ppc64le 0x2000 d82904ec              "xvf64ger"         => other
ppc64le 0x2000 d02904ec              "xvf64gerpp"       => other
ppc64le 0x2000 d02d04ec              "xvf64gerpn"       => other
ppc64le 0x2000 d02b04ec              "xvf64gernp"       => other
ppc64le 0x2000 d02f04ec              "xvf64gernn"       => other
ppc64le 0x2000 251de17f              "hashstp"          => other
ppc64le 0x2000 651de17f              "hashchkp"         => other
ppc64le 0x2000 420ee910              "vextracthm"       => other
ppc64le 0x2000 42162110              "vexpandhm"        => other
ppc64le 0x2000 42162210              "vexpandwm"        => other
ppc64le 0x2000 42162310              "vexpanddm"        => other
ppc64le 0x2000 421e3110              "mtvsrhm"          => other
ppc64le 0x2000 421e3210              "mtvsrwm"          => other
ppc64le 0x2000 421e3310              "mtvsrdm"          => other
ppc64le 0x2000 15002210              "mtvsrbmi"         => other
ppc64le 0x2000 42167a10              "vcntmbh"          => other
ppc64le 0x2000 42167d10              "vcntmbw"          => other
ppc64le 0x2000 0d142010              "vstribl."         => other
ppc64le 0x2000 c71d2210              "vcmpequq."        => other
ppc64le 0x2000 6201807c              "xxmfacc"          => other
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
    check_cases(CASES);
}

#[test]
fn power10_instructions() {
    check_cases(POWER10_CASES);
}

fn check_cases(cases: &str) {
    let mut failures = Vec::new();
    for line in cases.lines().filter(|l| !l.trim().is_empty()) {
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
