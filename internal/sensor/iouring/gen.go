package iouring

//go:generate go tool bpf2go -target bpfel -type iou_info -type iou_op -type iou_flag iouring iouring.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
