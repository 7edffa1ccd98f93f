package modguard

//go:generate go tool bpf2go -target bpfel -type mod_enforce -type mod_call -type mod_syscall -type mod_info modguard modguard.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
