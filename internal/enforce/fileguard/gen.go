package fileguard

//go:generate go tool bpf2go -target bpfel -type inode_key -type protect_entry -type protect_flag -type guard_state -type guard_info -type guard_syscall -type file_enforce -type resolved_fd fileguard fileguard.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
