package lsm

//go:generate go tool bpf2go -target bpfel -type lsm_enforce -type lsm_op lsm lsm.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
