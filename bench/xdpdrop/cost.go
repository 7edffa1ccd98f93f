package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/vigil-sec/vigil/internal/enforce/xdpguard/testnet"
)

// frame is an Ethernet frame from src (IPv4 or IPv6), UDP with payload.
func frame(src netip.Addr, payload int) []byte {
	b := make([]byte, 12, 128)
	if src.Is4() {
		b = binary.BigEndian.AppendUint16(b, 0x0800)
		h := make([]byte, 20)
		h[0], h[8], h[9] = 0x45, 64, 17
		binary.BigEndian.PutUint16(h[2:], uint16(20+8+payload))
		copy(h[12:], src.AsSlice())
		copy(h[16:], testnet.Recv4.AsSlice())
		b = append(b, h...)
	} else {
		b = binary.BigEndian.AppendUint16(b, 0x86dd)
		h := make([]byte, 40)
		h[0], h[6], h[7] = 0x60, 17, 64
		binary.BigEndian.PutUint16(h[4:], uint16(8+payload))
		copy(h[8:], src.AsSlice())
		b = append(b, h...)
	}
	return append(b, make([]byte, 8+payload)...)
}

func arpFrame() []byte {
	b := append(make([]byte, 12), 0x08, 0x06)
	return append(b, make([]byte, 28)...)
}

// emptyXDP returns XDP_PASS and nothing else: what a test run costs with
// no work in the program.
func emptyXDP() (*ebpf.Program, error) {
	return ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.XDP,
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()},
		License:      "GPL",
	})
}

// costCase is one program fed one frame through BPF_PROG_TEST_RUN.
type costCase struct {
	name string
	prog *ebpf.Program
	data []byte
	want uint32 // XDP_DROP 1, XDP_PASS 2
}

// runCost measures each case repeat times per round, the cases in a
// rotating order, and prints the median ns per run and the median of
// the paired differences to the empty program.
func runCost(cases []costCase, rounds, repeat int) error {
	per := make([][]float64, len(cases))
	for r := 0; r < rounds; r++ {
		for k := range cases {
			i := (k + r) % len(cases)
			c := cases[i]
			ret, d, err := c.prog.Benchmark(c.data, repeat, nil)
			if err != nil {
				return fmt.Errorf("test run %s: %w", c.name, err)
			}
			if ret != c.want {
				return fmt.Errorf("test run %s returned %d, want %d", c.name, ret, c.want)
			}
			per[i] = append(per[i], float64(d.Nanoseconds()))
		}
	}
	fmt.Printf("\n## Program cost per packet (BPF_PROG_TEST_RUN, %d runs x %d rounds, medians)\n\n", repeat, rounds)
	fmt.Println("| program, frame | ns per run | minus empty program |")
	fmt.Println("|---|---|---|")
	for i, c := range cases {
		var delta []float64
		for r := range per[i] {
			delta = append(delta, per[i][r]-per[0][r])
		}
		fmt.Printf("| %s | %.1f | %+.1f |\n", c.name, median(per[i]), median(delta))
	}
	return nil
}
