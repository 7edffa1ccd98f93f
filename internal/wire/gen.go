package wire

//go:generate go tool bpf2go -target bpfel -type record_header -type record_kind -type drop_reason wire wire.bpf.c -- -I../../bpf/include -I../../bpf/lib
