package io

//go:generate go tool bpf2go -target bpfel -type io_stats -type obs_hist io io.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
