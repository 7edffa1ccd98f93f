package memory

//go:generate go tool bpf2go -target bpfel -type mem_stats -type oom_record memory memory.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
