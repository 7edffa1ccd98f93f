package network

//go:generate go tool bpf2go -target bpfel -type net_stats -type obs_hist -type net_port_key -type net_port_stats network network.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
