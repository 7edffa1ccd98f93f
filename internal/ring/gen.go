package ring

//go:generate go tool bpf2go -target bpfel ring ring.bpf.c -- -I../../bpf/include -I../../bpf/lib
