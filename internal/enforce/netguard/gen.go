package netguard

//go:generate go tool bpf2go -target bpfel -type net_key4 -type net_key6 -type net_entry -type net_port_bits -type net_match -type net_record -type net_op -type net_proto -type net_table -type net_flag netguard netguard.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
