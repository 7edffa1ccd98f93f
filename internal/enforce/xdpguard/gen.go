package xdpguard

//go:generate go tool bpf2go -target bpfel -type lpm_v4_key -type lpm_v6_key -type src_entry -type prefix_counters -type talker_key -type talker -type xdp_limits -type lost_reason -type xdp_family -type xdp_class_hash xdpguard xdpguard.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
