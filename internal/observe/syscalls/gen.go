package syscalls

//go:generate go tool bpf2go -target bpfel -type sc_bitmap -type sc_config syscalls syscalls.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
