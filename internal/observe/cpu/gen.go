package cpu

//go:generate go tool bpf2go -target bpfel -type cpu_stats -type obs_hist cpu cpu.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
