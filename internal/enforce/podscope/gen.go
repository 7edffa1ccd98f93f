package podscope

//go:generate go tool bpf2go -target bpfel -type pod_uid -type container_id -type podscope_stat podscope podscope.bpf.c -- -I../../../bpf/include -I../../../bpf/lib
