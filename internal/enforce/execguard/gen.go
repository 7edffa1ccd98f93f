package execguard

//go:generate go tool bpf2go -target bpfel -type inode_key -type file_stamp -type held_exec -type held_slot -type execg_flag -type exec_enforce -type exec_hold execguard execguard.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
