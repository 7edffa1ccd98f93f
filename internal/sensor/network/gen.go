package network

//go:generate go tool bpf2go -target bpfel -type net_info -type net_syscall -type net_flag network network.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
