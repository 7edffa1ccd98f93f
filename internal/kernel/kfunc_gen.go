package kernel

//go:generate go tool bpf2go -target bpfel kfunc kfunc.bpf.c -- -I../../bpf/include -I../../bpf/lib
