package network

//go:generate go tool bpf2go -target bpfel -type net_stats -type obs_hist network network.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
