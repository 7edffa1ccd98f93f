package modguard

//go:generate go tool bpf2go -target bpfel -type mod_enforce -type mod_call -type mod_syscall -type mod_info -type mod_allow_entry -type inode_key modguard modguard.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
